"""Graph analysis: the policy engine applied to what the store holds (simulate, who-can, chains, ...)."""
