"""Game models fitted from history: rug hazard, price dynamics, and the expected-value
engine over them. Shared by the coach, the analyst and the hybrid policy."""
