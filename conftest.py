"""The suite's pytest plugins; each module owns one concern (see plugins/)."""

pytest_plugins = [
    "plugins.options",
    "plugins.session",
    "plugins.parametrize",
    "plugins.calls",
    "plugins.fixtures",
    "plugins.safety",
    "plugins.reporting",
    "plugins.allure_labels",
    "plugins.target_profile",
    "suites.promise_checks.fixtures",
    "suites.promise_checks.fixtures_containers",
    "suites.promise_checks.fixtures_streams",
    "suites.promise_checks.fixtures_images",
    "suites.promise_checks.fixtures_networks",
    "suites.promise_checks.fixtures_swarm",
]
