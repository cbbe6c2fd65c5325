// The HealthTests target's tests live beside this file.
