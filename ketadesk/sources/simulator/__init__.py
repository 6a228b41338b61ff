"""The simulated patient: PK/PD model, scenarios and the sample-producing source. Qt-free."""
