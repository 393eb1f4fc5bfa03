"""The risk board: server-rendered pages over the service's store (queue, ticket view, health)."""
