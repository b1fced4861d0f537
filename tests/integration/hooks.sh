#!/usr/bin/env bash
# berth hook: a real git repository with a bare remote; the pre-push hook
# refuses a push whose Dockerfile uses an end-of-support Windows base and
# lets a clean push through; pre-commit; install/uninstall safety.
. "$(dirname "$0")/../lib.sh"
if ! command -v git >/dev/null; then skip "hooks" "git not installed"; finish; exit; fi

export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.com
export GIT_CONFIG_NOSYSTEM=1 HOME=$TMP/home
mkdir -p "$HOME"
git config --global init.defaultBranch main
git config --global advice.detachedHead false

R=$TMP/repo B=$TMP/remote.git
git init -q --bare "$B"
git init -q "$R"
git -C "$R" remote add origin "$B"
# the hook must use the binary under test
export BERTH_HOOK_BIN=$BERTH

cat >"$R/.berth.json" <<'J'
{ "target_hosts": ["ltsc2022"], "fail_on": "error" }
J
cat >"$R/Dockerfile" <<'D'
# escape=`
FROM mcr.microsoft.com/windows/servercore:ltsc2022@sha256:0000000000000000000000000000000000000000000000000000000000000000
CMD ["cmd", "/c", "echo", "hi"]
D
git -C "$R" add -A && git -C "$R" commit -qm init

expect_rc "install pre-push" 0 "$BERTH" hook install --repo "$R"
[ -x "$R/.git/hooks/pre-push" ] && ok "hook is executable" || fail "hook is executable"
expect_match "hook marker" "berth-hook: pre-push" "$(cat "$R/.git/hooks/pre-push")"
expect_rc "reinstall over our own hook" 0 "$BERTH" hook install --repo "$R"

# first push of a new branch (remote sha 000...): clean
run git -C "$R" push -q origin main
[ "$RC" = 0 ] && ok "clean first push goes through" || fail "clean first push goes through" "$ERR"

# a push that adds a Windows 1709 Dockerfile is refused, the finding printed
mkdir -p "$R/svc"
cat >"$R/svc/Dockerfile" <<'D'
FROM mcr.microsoft.com/windows/servercore:1709
CMD ["cmd"]
D
git -C "$R" add -A && git -C "$R" commit -qm "add svc"
run git -C "$R" push -q origin main
[ "$RC" != 0 ] && ok "push with servercore:1709 refused" || fail "push with servercore:1709 refused" "rc $RC"
expect_match "finding printed with position" "svc/Dockerfile:1:6: error\[BW101\]" "$ERR"
expect_match "compat check against target host" "BW107.*ltsc2022" "$ERR"
expect_match "refusal message" "push refused" "$ERR"
run git -C "$B" rev-parse -q --verify refs/heads/main
before=$OUT
[ "$before" != "$(git -C "$R" rev-parse HEAD)" ] && ok "remote not updated" || fail "remote not updated"

# fix it: the push of both commits now goes through
cat >"$R/svc/Dockerfile" <<'D'
FROM mcr.microsoft.com/windows/servercore:ltsc2022
CMD ["cmd"]
D
git -C "$R" commit -qam "fix svc"
run git -C "$R" push -q origin main
[ "$RC" = 0 ] && ok "fixed push goes through" || fail "fixed push goes through" "$ERR"
[ "$(git -C "$B" rev-parse refs/heads/main)" = "$(git -C "$R" rev-parse HEAD)" ] && ok "remote updated" || fail "remote updated"

# a push that changes no Dockerfile is not linted at all
echo text >"$R/README" && git -C "$R" add README && git -C "$R" commit -qm readme
run git -C "$R" push -q origin main
[ "$RC" = 0 ] && [ -z "$ERR" ] && ok "push without Dockerfiles is silent" || fail "push without Dockerfiles is silent" "$ERR"

# new branch whose commit adds a bad Dockerfile: refused
git -C "$R" checkout -qb feature
printf 'FROM microsoft/nanoserver\n' >"$R/app.Dockerfile"
git -C "$R" add -A && git -C "$R" commit -qm bad
run git -C "$R" push -q origin feature
[ "$RC" != 0 ] && ok "new branch with bad Dockerfile refused" || fail "new branch with bad Dockerfile refused"
expect_match "retired repo finding" "app.Dockerfile:1:6: error\[BW104\]" "$ERR"

# a suppression comment lets it through
printf '# berth-ignore: BW104,BW105 migrating next sprint\nFROM microsoft/nanoserver\n' >"$R/app.Dockerfile"
git -C "$R" commit -qam suppress
run git -C "$R" push -q origin feature
[ "$RC" = 0 ] && ok "suppressed findings pass" || fail "suppressed findings pass" "$ERR"

# deleting a branch: nothing to lint
run git -C "$R" push -q origin --delete feature
[ "$RC" = 0 ] && ok "branch deletion passes" || fail "branch deletion passes" "$ERR"

# hook run with malformed input does not crash
run sh -c "cd '$R' && echo 'garbage' | '$BERTH' hook run pre-push origin"
[ "$RC" = 0 ] && ok "malformed pre-push line ignored" || fail "malformed pre-push line ignored" "rc $RC $ERR"

# foreign hook: refused without --force, kept aside with it, restored on uninstall
printf '#!/bin/sh\necho mine\n' >"$R/.git/hooks/pre-commit"
chmod +x "$R/.git/hooks/pre-commit"
expect_rc "foreign hook not overwritten" 1 "$BERTH" hook install --pre-commit --repo "$R"
expect_match "says why" "not written by berth.*--force" "$ERR"
expect_match "foreign hook intact" "echo mine" "$(cat "$R/.git/hooks/pre-commit")"
expect_rc "install --force" 0 "$BERTH" hook install --pre-commit --repo "$R" --force
expect_match "backup kept" "echo mine" "$(cat "$R/.git/hooks/pre-commit.pre-berth")"

# pre-commit lints the staged content
printf 'FROM mcr.microsoft.com/windows/servercore:1803\n' >"$R/svc/Dockerfile"
git -C "$R" add svc/Dockerfile
run git -C "$R" commit -qm "stage bad"
[ "$RC" != 0 ] && ok "pre-commit refuses staged bad Dockerfile" || fail "pre-commit refuses staged bad Dockerfile"
expect_match "pre-commit finding" "svc/Dockerfile:1:6: error\[BW101\]" "$ERR"
git -C "$R" reset -q --hard

expect_rc "uninstall pre-commit" 0 "$BERTH" hook uninstall --pre-commit --repo "$R"
expect_match "foreign hook restored" "echo mine" "$(cat "$R/.git/hooks/pre-commit")"
expect_rc "uninstall pre-push" 0 "$BERTH" hook uninstall --repo "$R"
[ ! -e "$R/.git/hooks/pre-push" ] && ok "pre-push removed" || fail "pre-push removed"
printf '#!/bin/sh\n' >"$R/.git/hooks/pre-push"
expect_rc "uninstall leaves a foreign hook" 2 "$BERTH" hook uninstall --repo "$R"
[ -e "$R/.git/hooks/pre-push" ] && ok "foreign pre-push kept" || fail "foreign pre-push kept"

# core.hooksPath is respected
R2=$TMP/repo2
git init -q "$R2"
git -C "$R2" config core.hooksPath .githooks
expect_rc "install with core.hooksPath" 0 "$BERTH" hook install --repo "$R2"
[ -x "$R2/.githooks/pre-push" ] && ok "hook written to core.hooksPath" || fail "hook written to core.hooksPath"

expect_rc "not a repository" 2 "$BERTH" hook install --repo "$TMP/home"
expect_rc "bad subcommand" 2 "$BERTH" hook frobnicate
finish
