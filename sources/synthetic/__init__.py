"""The synthetic support organisation: accounts, tickets, conversations, outcomes, ground truth.

- ``generate``: the entry point (``GeneratorConfig``, ``simulate``, ``generate_dataset``);
- ``organisation``: accounts, ticket arrivals, outages, agents and their load;
- ``tickets``: what a new ticket looks like; ``state``: its hidden state and hazard;
- ``process``: the conversation and process of one ticket; ``demands``: what customers demand
  and how the team defuses it; ``escalation``: when, through which channel and how it
  escalates; ``truth``: the true escalation probability by re-simulation;
- ``text``, ``tone``, ``phrasebook``: the wording, from the phrase tables in ``phrases/*.json``;
- ``tables``, ``summary``: the records as validated tables, and their base rates.
"""
