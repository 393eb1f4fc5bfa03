"""The batch feature build on a Dask cluster: the same features as features.pipeline, partitioned.

Where things run:

- **client**: reads and validates the small tables (accounts, tickets, outcomes: one row per
  account or ticket), plans the partitions, keeps the text-signal cache and gathers what a
  command writes;
- **workers**: read the events table lazily, one task per Parquet row group, and split its rows
  by a hash of ``ticket_id`` into ``n_partitions`` buckets; a partition (every event of its
  tickets, so a ticket never straddles two) is validated, text-scored, snapshotted and featurised
  where it lives;
- **the cross-ticket context** (product-area load, agent and team backlogs, open tickets and
  recent sentiment per account, past escalations: :class:`features.context.FeatureContext`) is
  built once, on a worker, from the full tickets table and a slim extract of every partition (the
  customer messages, assignments and status changes, 7 of the events' columns), then replicated
  to every worker, which joins its snapshots to it as of their instants. It is not bucketed in
  time: the local path counts at exact instants, and bucketing would change the values.

Every step calls the public functions of the local path (validate_tables, attach_text_signals,
make_snapshots, build_features, FeatureContext.from_data) on a partition, so the rows are those of
:func:`features.pipeline.build_feature_table` (floats up to the last bits of a running sum, as
with the local path's own ``n_jobs``; tests/features/test_distributed.py checks it).
"""

from features.engine.cluster import MEMORY_THRESHOLDS, SCHEDULER_ENV, ClusterSpec, open_client
from features.engine.partitions import CONTEXT_EVENT_TYPES, PartitionedData, partition_of
from features.engine.table import (
    DistributedFeatures,
    build_feature_table_distributed,
    write_feature_table_distributed,
)
from features.engine.texts import ScorerSpec, TextScorerPlugin, signal_cache

__all__ = [
    "CONTEXT_EVENT_TYPES",
    "MEMORY_THRESHOLDS",
    "SCHEDULER_ENV",
    "ClusterSpec",
    "DistributedFeatures",
    "PartitionedData",
    "ScorerSpec",
    "TextScorerPlugin",
    "build_feature_table_distributed",
    "open_client",
    "partition_of",
    "signal_cache",
    "write_feature_table_distributed",
]
