//! `sigil key new|list|show|import`: the keystore's signing keys.

use serde::Serialize;

use super::Ctx;
use crate::args::KeyCommand;
use crate::output::{Exit, table};

#[derive(Serialize)]
struct KeyInfo {
    name: String,
    public_key: String,
    path: String,
}

pub fn run(ctx: &Ctx, cmd: KeyCommand) -> anyhow::Result<Exit> {
    match cmd {
        KeyCommand::New { name } => {
            let (key, path) = ctx.keystore.create(&name)?;
            let info = KeyInfo {
                name,
                public_key: key.public().to_string(),
                path: path.display().to_string(),
            };
            ctx.out.emit(&info, |i| {
                format!(
                    "created key `{}` in {}\npublic key {}",
                    i.name, i.path, i.public_key
                )
            });
        }
        KeyCommand::List => {
            let keys = ctx
                .keystore
                .list()?
                .into_iter()
                .map(|name| info(ctx, &name))
                .collect::<anyhow::Result<Vec<_>>>()?;
            ctx.out.emit(&keys, |keys| {
                if keys.is_empty() {
                    format!(
                        "no keys in {}; create one with `sigil key new NAME`",
                        ctx.keystore.dir().display()
                    )
                } else {
                    let rows: Vec<Vec<String>> = keys
                        .iter()
                        .map(|k| vec![k.name.clone(), k.public_key.clone()])
                        .collect();
                    table(&rows, "")
                }
            });
        }
        KeyCommand::Import { name, file } => {
            let (key, path) = ctx.keystore.import(&name, &file)?;
            let info = KeyInfo {
                name,
                public_key: key.public().to_string(),
                path: path.display().to_string(),
            };
            ctx.out.emit(&info, |i| {
                format!(
                    "imported key `{}` into {}\npublic key {}",
                    i.name, i.path, i.public_key
                )
            });
        }
        KeyCommand::Show { name } => {
            let key = info(ctx, &name)?;
            ctx.out.emit(&key, |k| k.public_key.clone());
        }
    }
    Ok(Exit::Ok)
}

fn info(ctx: &Ctx, name: &str) -> anyhow::Result<KeyInfo> {
    let key = ctx.keystore.load(name)?;
    Ok(KeyInfo {
        name: name.to_string(),
        public_key: key.public().to_string(),
        path: ctx.keystore.key_path(name).display().to_string(),
    })
}
