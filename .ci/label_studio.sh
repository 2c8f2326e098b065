# Label Studio for the Label Studio ML backend test (tests/integrations/test_label_studio.py).
#
# Label Studio pins many packages of its own (Django, an older numpy, ...), so it lives in a venv
# of its own, outside the project's: $MASKLET_LABEL_STUDIO_HOME (default
# ~/.cache/masklet/label-studio-<version>)/venv. Beside it, template/label_studio.sqlite3 is an
# empty database with Label Studio's migrations applied (about a minute on two cores): the test
# starts its own server on a copy of it in about 6 s instead of migrating a new database.
#
# Sourced by .ci/run: `masklet_label_studio_prepare` installs what is missing (idempotent) and
# exports MASKLET_TEST_LABEL_STUDIO (the label-studio executable) and
# MASKLET_TEST_LABEL_STUDIO_TEMPLATE (the database); when anything fails it warns and returns 1
# (the server test then skips with its reason); it never exits the shell that sourced it.
#
# Developers run it alone once, then the test finds Label Studio at the default place:
#   bash .ci/label_studio.sh
#   .venv/bin/python -m pytest -q tests/integrations/test_label_studio.py

MASKLET_LABEL_STUDIO_VERSION=1.23.2
# Label Studio 1.23.2 does not bound sentry-sdk, and sentry-sdk 3 dropped an option it passes
# (send_default_pii): its migrations then fail with "Unknown option".
MASKLET_LABEL_STUDIO_CONSTRAINTS=("sentry-sdk<3")

masklet_label_studio_prepare() {
    local home="${MASKLET_LABEL_STUDIO_HOME:-$HOME/.cache/masklet/label-studio-$MASKLET_LABEL_STUDIO_VERSION}"
    local venv="$home/venv" template="$home/template"
    if ! "$venv/bin/python" -c "import label_studio, sentry_sdk, sys
sys.exit(label_studio.__version__ != '$MASKLET_LABEL_STUDIO_VERSION' or int(sentry_sdk.VERSION.split('.')[0]) >= 3)" 2>/dev/null; then
        echo "ci: installing label-studio $MASKLET_LABEL_STUDIO_VERSION into $venv" >&2
        rm -rf "$venv"
        if ! { python3 -m venv "$venv" && "$venv/bin/python" -m pip install -q --disable-pip-version-check \
                "label-studio==$MASKLET_LABEL_STUDIO_VERSION" "${MASKLET_LABEL_STUDIO_CONSTRAINTS[@]}"; }; then
            echo "ci: could not install label-studio; the Label Studio server test will skip" >&2
            return 1
        fi
    fi
    if [ ! -s "$template/label_studio.sqlite3" ]; then
        echo "ci: migrating an empty Label Studio database in $template" >&2
        rm -rf "$template.tmp" && mkdir -p "$template.tmp"
        if ! LABEL_STUDIO_BASE_DATA_DIR="$template.tmp" COLLECT_ANALYTICS=false LATEST_VERSION_CHECK=false \
                "$venv/bin/label-studio" version --data-dir "$template.tmp" >"$template.tmp/migrate.log" 2>&1; then
            echo "ci: Label Studio's migrations failed: $(tail -n 3 "$template.tmp/migrate.log" | tr '\n' ' ')" >&2
            return 1
        fi
        rm -rf "$template" && mv "$template.tmp" "$template"
    fi
    export MASKLET_TEST_LABEL_STUDIO="$venv/bin/label-studio"
    export MASKLET_TEST_LABEL_STUDIO_TEMPLATE="$template/label_studio.sqlite3"
    echo "ci: Label Studio $MASKLET_LABEL_STUDIO_VERSION at $MASKLET_TEST_LABEL_STUDIO" >&2
}

# Run alone: prepare and say where it is.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    masklet_label_studio_prepare || exit 1
fi
