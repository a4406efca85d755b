# Shared by several override files: sky sources for the false-positive statistics.
config.doSkySources = True
config.detectAndMeasure.skySources.nSources = 50
