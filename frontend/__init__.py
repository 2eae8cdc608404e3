"""Static frontend of the tb_metrics TensorBoard plugin (ES modules, no build step).

This file only makes the folder importable as ``tb_metrics_plugin.frontend`` so the plugin
finds its static files the same way from an editable install and from a built wheel.
"""
