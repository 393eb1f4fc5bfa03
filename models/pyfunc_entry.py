"""MLflow "models from code" entry: logged as the model's code, executed when it is loaded."""

import mlflow

from models.pyfunc import EscalationRiskModel

mlflow.models.set_model(EscalationRiskModel())
