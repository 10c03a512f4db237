"""Settings support shared by the deployables.

Like `sqlsupport/`, this is a library the action server, the desk and the Rasa server's
extensions depend on, not a deployable: each declares its own settings class
(`actions.settings`, `desk.settings`, `assistant.settings`) on the base in `environment`, which
reads the environment the same way everywhere and fails fast with one clear message.
"""
