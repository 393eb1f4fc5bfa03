"""Training of the transformer sentiment and intent heads (the served model: models/sentiment.py).

data.py reads the labelled tweets, train.py fine-tunes the adapter and fits the heads,
evaluate.py measures them, intents.py fits and measures the intent heads. The setup build that
turns the committed artifacts into the ONNX encoder is models/build.py.
"""
