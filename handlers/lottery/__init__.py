"""The verifiable lottery (`/lottery`): docs/lottery.md says how it works and how to check a draw."""
