"""What every layer of the service shares: settings, errors, metrics."""
