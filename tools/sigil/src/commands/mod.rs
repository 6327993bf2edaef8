//! The commands: what each one does once its arguments are parsed, and the context they share.

mod cert;
mod chain;
mod company;
mod dns;
mod identity;
mod import;
mod key;
mod localnet;
mod name;
mod offering;
mod proof;
mod register;
mod show;
mod tx;
mod validators;
mod watch;

use anyhow::Context;
use sigil_core::api::ChainStatus;
use sigil_core::name as names;
use sigil_core::state::ValidatorSet;
use sigil_core::types::{Keypair, PublicKey};

use crate::args::{
    CertCommand, ChainCommand, Cli, Command, DnsCommand, LocalnetCommand, NameCommand,
    ProofCommand, TxCommand, ValidatorsCommand,
};
use crate::client::Client;
use crate::keystore::Keystore;
use crate::output::{Exit, Output};
use crate::trust::{self, Trust};

/// What every command may need: the node, the keystore, the chosen key and the output mode.
pub struct Ctx {
    pub node: String,
    pub keystore: Keystore,
    pub key: Option<String>,
    pub out: Output,
}

impl Ctx {
    pub fn client(&self) -> anyhow::Result<Client> {
        Client::new(&self.node)
    }

    /// The signing key and its name in the keystore, for transactions any key may sign (a new
    /// name's commit): `--key`, or the keystore's only key.
    pub fn signing_key(&self) -> anyhow::Result<(String, Keypair)> {
        self.keystore.select(self.key.as_deref())
    }

    /// The key that must sign, with its name: `--key`, or the keystore key whose public key is
    /// one of `must_sign` (see [`Keystore::signer`]).
    pub fn signer(&self, must_sign: &[(PublicKey, String)]) -> anyhow::Result<(String, Keypair)> {
        self.keystore.signer(self.key.as_deref(), must_sign)
    }

    /// The key that signs as the owner of the registered name `name`, with its name.
    pub async fn owner_key(
        &self,
        client: &Client,
        name: &str,
    ) -> anyhow::Result<(String, Keypair)> {
        if self.key.is_some() {
            // `--key` decides (and a bad key file is said before anything else).
            return self.signer(&[]);
        }
        let Some(info) = client.name(name).await? else {
            anyhow::bail!(
                "`{name}` is not registered; register it with `sigil name register {name}`"
            );
        };
        self.signer(&[(info.entry.owner, format!("the owner of `{name}`"))])
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<Exit> {
    let ctx = Ctx {
        node: cli.node,
        keystore: Keystore::new(cli.keystore)?,
        key: cli.key,
        out: Output::new(cli.json),
    };
    match cli.command {
        Command::Key(cmd) => key::run(&ctx, cmd),
        Command::Name(cmd) => match cmd {
            NameCommand::Register(args) => register::run(&ctx, args).await,
            NameCommand::Update(args) => name::update(&ctx, args).await,
            NameCommand::Transfer { name, to } => name::transfer(&ctx, &name, &to).await,
            NameCommand::Renew { name } => name::renew(&ctx, &name).await,
            NameCommand::Show { name } => show::show(&ctx, &name).await,
            NameCommand::History { name, listing } => show::history(&ctx, &name, listing).await,
            NameCommand::Import(args) => import::run(&ctx, args).await,
        },
        Command::Cert(cmd) => match cmd {
            CertCommand::Register { name, cert, force } => {
                cert::register(&ctx, &name, &cert, force).await
            }
            CertCommand::Batch { certs, force } => cert::batch(&ctx, &certs, force).await,
            CertCommand::Verify(args) => cert::verify(&ctx, args).await,
            CertCommand::Revoke {
                name,
                which,
                reason,
            } => cert::revoke(&ctx, &name, which, &reason).await,
            CertCommand::List { name } => cert::list(&ctx, &name).await,
            CertCommand::Authorize { name, issuer } => {
                cert::authorize(&ctx, &name, &issuer, true).await
            }
            CertCommand::Deauthorize { name, issuer } => {
                cert::authorize(&ctx, &name, &issuer, false).await
            }
            CertCommand::Fetch {
                target,
                connect,
                max_age,
            } => cert::fetch(&ctx, &target, connect.as_deref(), max_age).await,
        },
        Command::Proof(ProofCommand::Name { name, max_age }) => {
            proof::name(&ctx, &name, max_age).await
        }
        Command::Proof(ProofCommand::Balance {
            company,
            class,
            holder,
            max_age,
        }) => company::proof_balance(&ctx, &company, &class, &holder, max_age).await,
        Command::Proof(ProofCommand::Identity { id, max_age }) => {
            identity::proof(&ctx, &id, max_age).await
        }
        Command::Proof(ProofCommand::Subscription {
            company,
            offering,
            holder,
            max_age,
        }) => offering::proof_subscription(&ctx, &company, &offering, &holder, max_age).await,
        Command::Identity(cmd) => identity::run(&ctx, cmd).await,
        Command::Company(cmd) => company::company(&ctx, cmd).await,
        Command::Holder(cmd) => company::holder(&ctx, cmd).await,
        Command::Shares(cmd) => company::shares(&ctx, cmd).await,
        Command::Captable(args) => company::captable(&ctx, args).await,
        Command::Offering(cmd) => offering::run(&ctx, cmd).await,
        Command::Chain(ChainCommand::Status) => chain::status(&ctx).await,
        Command::Dns(DnsCommand::Anchor) => dns::anchor(&ctx).await,
        Command::Tx(TxCommand::Status { id }) => tx::status(&ctx, &id).await,
        Command::Localnet(cmd) => match cmd {
            LocalnetCommand::Up(args) => localnet::up(&ctx, args).await,
            LocalnetCommand::AddNode { dir, base_port } => {
                localnet::add_node(&ctx, &dir, base_port).await
            }
            LocalnetCommand::Status { dir } => localnet::status(&ctx, &dir).await,
            LocalnetCommand::Down { dir } => localnet::down(&ctx, &dir).await,
        },
        Command::Watch(args) => watch::run(&ctx, args).await,
        Command::Validators(cmd) => match cmd {
            ValidatorsCommand::List => validators::list(&ctx).await,
            ValidatorsCommand::ProposeAdd { validator, power } => {
                validators::propose(&ctx, validators::Proposal::Add(validator, power)).await
            }
            ValidatorsCommand::ProposeRemove { validator } => {
                validators::propose(&ctx, validators::Proposal::Remove(validator)).await
            }
        },
    }
}

/// A name as the ledger spells it (lowercase A-labels, no trailing dot), before the chain's
/// TLDs are known.
fn normalize(input: &str) -> anyhow::Result<String> {
    names::normalize(input, false)
        .with_context(|| format!("`{}` is not a valid name", sigil_core::error::shown(input)))
}

/// A name that can be registered on the chain `status` describes.
fn registrable(input: &str, status: &ChainStatus) -> anyhow::Result<String> {
    Ok(names::registrable(input, &status.params.tlds)?)
}

/// The validators to check proofs against, or why the node's chain cannot be believed.
pub(super) async fn trusted(
    ctx: &Ctx,
    status: &ChainStatus,
) -> anyhow::Result<Result<ValidatorSet, String>> {
    Ok(
        match trust::check(&ctx.keystore, status, &ctx.client()?).await? {
            Trust::Trusted {
                validators,
                first_contact,
                file,
            } => {
                if first_contact {
                    let others = trust::pinned_chains(&ctx.keystore, &status.chain_id);
                    let before = if others.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " (this keystore already trusts {}: if you meant one of those, this node is on another chain)",
                            others.join(", ")
                        )
                    };
                    ctx.out.note(format!(
                        "first contact with chain `{}`{before}: trusting its {} validator(s) (set {}) from now on; pinned in {}",
                        status.chain_id,
                        validators.validators.len(),
                        validators.hash(),
                        file.display()
                    ));
                }
                Ok(validators)
            }
            Trust::Mismatch { reason } => Err(reason),
        },
    )
}
