"""What the routes call: the service state, scoring, explanations, the store, the model."""
