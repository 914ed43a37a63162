"""One module per rule: a plain function RuleInput -> list[Decision]."""
