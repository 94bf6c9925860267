"""Capacity models: will the centre reach its targets, when, with what probability?

``loader.load_scenario`` reads a scenario (TOML) into ``schema.Scenario``;
``projection.project(scenario, samples, seed)`` runs it (deterministic and Monte
Carlo, ``engine``) and returns a ``Projection`` with monthly P10/P25/P50/P75/P90 bands,
target dates and probabilities, drivers, constraints, storage fill and the
TOP500 check (``top500``); ``calibration.calibrate`` replaces assumed
efficiencies with measured ones from the results store.
"""
