//! Dropping root after the capture device is open (`-Z USER`), as tcpdump does: the
//! packet parsers then run without privileges.

use nix::unistd::{setgid, setgroups, setuid, Gid, User};

/// Switches to `user` (its uid, primary gid, no supplementary groups). Does nothing
/// without a user; fails clearly when the user does not exist or the switch is refused.
pub fn drop_to(user: Option<&str>) -> anyhow::Result<()> {
    let Some(name) = user else { return Ok(()) };
    let u = User::from_name(name)
        .map_err(|e| anyhow::anyhow!("cannot look up user {name}: {e}"))?
        .ok_or_else(|| anyhow::anyhow!("no such user: {name}"))?;
    let groups: [Gid; 0] = [];
    setgroups(&groups).map_err(|e| anyhow::anyhow!("cannot drop supplementary groups: {e}"))?;
    setgid(u.gid).map_err(|e| anyhow::anyhow!("cannot switch to group {}: {e}", u.gid))?;
    setuid(u.uid).map_err(|e| anyhow::anyhow!("cannot switch to user {name}: {e}"))?;
    if nix::unistd::geteuid().is_root() && !u.uid.is_root() {
        anyhow::bail!("still root after switching to {name}");
    }
    Ok(())
}
