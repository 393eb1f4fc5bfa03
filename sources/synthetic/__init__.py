"""The synthetic support organisation: accounts, tickets, conversations, outcomes, ground truth."""
