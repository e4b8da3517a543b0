"""slap_core: the model, its operations and rules, on a master in the test's process."""
