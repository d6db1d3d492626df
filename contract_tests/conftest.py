pytest_plugins = ["mock_kling.contract.plugin"]
