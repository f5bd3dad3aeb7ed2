"""Commands of the HTTP API: `serve` and `api-key`."""

from __future__ import annotations

import uvicorn

from finkpi.api.access import KeyRing, departments, key_entry_yaml, new_key
from finkpi.api.app import create_app
from finkpi.cli.options import settings_from, split_list


def cmd_serve(args) -> int:
    settings = settings_from(args)
    keyring = KeyRing.load(settings.api_keys, departments(settings.project_dir))
    print(f"finkpi API on http://{args.host}:{args.port}/ (dashboard /dashboard/, spec /openapi.json)")
    print(f"  reads {settings.warehouse_dir}/current; {len(keyring.entries)} key(s) from {keyring.source}")
    uvicorn.run(create_app(settings, keyring), host=args.host, port=args.port, log_level="warning")
    return 0


def cmd_api_key(args) -> int:
    scope = split_list(args.departments)
    known = departments(settings_from(args).project_dir)
    wrong = [d for d in scope if d not in known]
    if wrong or (args.role == "viewer") != bool(scope):
        raise ValueError(f"a viewer needs --departments from {known} (others none); got {scope}")
    key = new_key()
    print(f"key (shown once, give it to {args.name}): {key}")
    print("entry for the key file (FINKPI_API_KEYS), under `keys:`:")
    print(key_entry_yaml(args.name, key, args.role, scope), end="")
    return 0
