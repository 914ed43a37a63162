"""Rules (pure functions of facts) and CDS card rendering. No HTTP."""
