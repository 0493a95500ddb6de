"""Meta-learning across modes (capability 5): game models of several modes fitted
together (`pooling`), served by the model registry for thin modes, answered by
`POST /v1/meta/adapt`; transfer of trained policies between modes (`transfer`)."""
