"""In-home sensors as a source of the edge agent: ``sensor-mqtt``.

The agent subscribes to a home gateway's MQTT broker (Zigbee2MQTT, or any gateway that
publishes JSON) and turns signs of life — motion, a door inside the home, water, an
appliance switched on, a button — into ``activity`` events naming the resident or the home.
``config.py`` holds the source model, ``mapping.py`` the pure decisions (what counts as
activity, rate limits), ``source.py`` the MQTT client and the loop.
"""
