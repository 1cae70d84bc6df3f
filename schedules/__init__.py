"""The campaign calendar and the scheduler that fires pushes."""
