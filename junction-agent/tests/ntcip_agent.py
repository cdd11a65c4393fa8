#!/usr/bin/env python3
"""net-snmp pass_persist handler standing in for an NTCIP 1202 controller's agent in
tests: it holds the rows a 16-phase controller has (phase timing, coordination pattern 1,
split plan 1), accepts INTEGER sets on them and writes the whole table to the JSON file
given as its argument after every set."""
import json
import os
import sys

store_path = sys.argv[1]
NTCIP = ".1.3.6.1.4.1.1206.4.2.1"
store = {}
for n in range(1, 17):
    for col in (2, 3, 4, 6, 8, 9):  # walk, ped clear, min green, max 1, yellow, red clear
        store[f"{NTCIP}.1.2.1.{col}.{n}"] = 0
    store[f"{NTCIP}.4.9.1.3.1.{n}"] = 0  # split time
for col in (2, 3):  # pattern cycle, offset
    store[f"{NTCIP}.4.7.1.{col}.1"] = 0


def line():
    raw = sys.stdin.readline()
    if raw == "":
        sys.exit(0)
    return raw.strip()


def save():
    tmp = store_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(store, f)
    os.replace(tmp, store_path)


while True:
    cmd = line()
    if cmd == "PING":
        print("PONG")
    elif cmd == "get":
        oid = line()
        if oid in store:
            print(oid)
            print("integer")
            print(store[oid])
        else:
            print("NONE")
    elif cmd == "getnext":
        line()
        print("NONE")
    elif cmd == "set":
        oid, (kind, value) = line(), line().split(None, 1)
        if oid not in store:
            print("not-writable")
        elif kind != "integer":
            print("wrong-type")
        else:
            store[oid] = int(value)
            save()
            print("DONE")
    elif cmd:
        print("NONE")
    sys.stdout.flush()
