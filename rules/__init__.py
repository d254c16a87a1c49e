"""The catalog of rules that ships with rmmdetect: one YAML file per RMM tool."""

__all__: list[str] = []
