pub fn run(_a: &super::args::FollowArgs) -> anyhow::Result<i32> {
    anyhow::bail!("follow: not yet")
}
