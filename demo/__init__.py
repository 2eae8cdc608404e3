"""Demo data, training script and test fixtures for tb_metrics_plugin."""
