"""Installer tooling: provision a building (devices, agent configuration, MQTT credentials,
broker password file and ACL) and test a device end to end.

    from hardware.profiles import load_profiles
    from hardware.provision.devices import load_devices_file, plan_building
    from hardware.provision.flow import output_paths, provision

    plan = plan_building(load_devices_file(path), load_profiles())
    provision(conn, plan, output_paths(out_dir, plan.community, plan.building),
              broker=parse_broker_url("mqtt://broker:1883"))

The command line is ``linli hardware profiles | provision | test`` (``cli.py``).
"""
