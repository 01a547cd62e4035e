"""The suite's pytest plugins (plugins/bundle.py lists them; each module owns one concern, see plugins/)."""

pytest_plugins = ["plugins.bundle"]
