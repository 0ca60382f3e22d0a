"""The run report: a table of every model against the oracle, the configuration, stage times, plots."""
