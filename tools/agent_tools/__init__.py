"""smolagents tools over the game database, the knowledge base and the event bus."""
