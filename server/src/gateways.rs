//! The gateways a sync may connect to. The address of a gateway is configuration: the
//! command-line gateway (`--ib-host`, `--ib-port`, `--ib-client-id`) is the one named
//! `default`, and an administrator adds others by name (`fillbook gateways add`). A job or
//! request chooses among them by name only — it cannot aim the server at a host and port of
//! its own (which made the server a port scanner of its network).

use crate::auth::audit;
use crate::db::entities::gateways;
use crate::error::{Error, Result};
use app::models::Actor;
use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde::Serialize;

/// The name of the gateway given on the command line.
pub const DEFAULT_GATEWAY: &str = "default";

/// One configured gateway.
#[derive(Debug, Clone, PartialEq, Serialize, FromQueryResult)]
pub struct GatewayRow {
    pub name: String,
    pub host: String,
    pub port: i32,
    pub client_id_base: i32,
    pub time_zone: Option<String>,
}

/// A gateway name: 1–40 of `a-z`, `0-9`, `-`, `_`.
pub fn check_name(field: &str, name: &str) -> Result<()> {
    let ok = (1..=40).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            "a gateway name is 1–40 characters of a-z, 0-9, `-` and `_`",
        ))
    }
}

/// The gateways, as much of each as a [`GatewayRow`] reads.
fn rows() -> sea_orm::Select<gateways::Entity> {
    gateways::Entity::find().select_only().columns([
        gateways::Column::Name,
        gateways::Column::Host,
        gateways::Column::Port,
        gateways::Column::ClientIdBase,
        gateways::Column::TimeZone,
    ])
}

/// Every configured gateway (the command-line one not included), by name.
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<GatewayRow>> {
    let select = rows().order_by_asc(gateways::Column::Name);
    Ok(select.into_model::<GatewayRow>().all(db).await?)
}

async fn find(db: &impl ConnectionTrait, name: &str) -> Result<Option<GatewayRow>> {
    let select = rows().filter(gateways::Column::Name.eq(name));
    Ok(select.into_model::<GatewayRow>().one(db).await?)
}

/// Adds or replaces a gateway, audited in the same transaction.
pub async fn add(db: &DatabaseConnection, actor: &Actor, g: &GatewayRow) -> Result<()> {
    check_name("name", &g.name)?;
    if g.name == DEFAULT_GATEWAY {
        return Err(Error::invalid(
            "name",
            "`default` is the command-line gateway (--ib-host, --ib-port)",
        ));
    }
    if g.host.trim().is_empty() || g.host.chars().any(char::is_whitespace) {
        return Err(Error::invalid("host", "the host must be a name or address"));
    }
    if !(1..=65_535).contains(&g.port) {
        return Err(Error::invalid(
            "port",
            "the port must be between 1 and 65535",
        ));
    }
    if let Some(z) = &g.time_zone {
        z.parse::<chrono_tz::Tz>()
            .map_err(|_| Error::invalid("time_zone", format!("`{z}` is not an IANA time zone")))?;
    }
    let txn = crate::db::begin_write(db).await?;
    let now = Utc::now();
    use gateways::Column as C;
    gateways::Entity::insert(gateways::ActiveModel {
        name: Set(g.name.clone()),
        host: Set(g.host.clone()),
        port: Set(g.port),
        client_id_base: Set(g.client_id_base),
        time_zone: Set(g.time_zone.clone()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::column(C::Name)
            .update_columns([C::Host, C::Port, C::ClientIdBase, C::TimeZone, C::UpdatedAt])
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    let detail = serde_json::to_value(g).ok();
    audit::record(&txn, actor, "gateway.set", Some(g.name.clone()), detail).await?;
    txn.commit().await?;
    Ok(())
}

/// Removes a gateway, audited in the same transaction.
pub async fn remove(db: &DatabaseConnection, actor: &Actor, name: &str) -> Result<()> {
    let txn = crate::db::begin_write(db).await?;
    let gone = gateways::Entity::delete_many()
        .filter(gateways::Column::Name.eq(name))
        .exec(&txn)
        .await?
        .rows_affected;
    if gone == 0 {
        return Err(Error::NotFound(format!("gateway `{name}`")));
    }
    audit::record(&txn, actor, "gateway.removed", Some(name.to_string()), None).await?;
    txn.commit().await?;
    Ok(())
}

/// Refuses a name that is neither `default` nor configured, listing the choices.
pub async fn check_exists(db: &impl ConnectionTrait, field: &str, name: &str) -> Result<()> {
    if name == DEFAULT_GATEWAY || find(db, name).await?.is_some() {
        return Ok(());
    }
    let mut names = vec![DEFAULT_GATEWAY.to_string()];
    names.extend(list(db).await?.into_iter().map(|g| g.name));
    Err(Error::invalid(
        field,
        format!(
            "no gateway named `{name}`; configured: {} (an administrator adds gateways with \
             `fillbook gateways add`)",
            names.join(", ")
        ),
    ))
}

/// The connection settings of the named gateway (`None` or `default`: the command line's).
pub async fn resolve(
    db: &impl ConnectionTrait,
    name: Option<&str>,
    defaults: &SyncSettings,
) -> Result<SyncSettings> {
    let Some(name) = name.filter(|n| *n != DEFAULT_GATEWAY) else {
        return Ok(defaults.clone());
    };
    check_exists(db, "payload.gateway", name).await?;
    let g = find(db, name)
        .await?
        .ok_or_else(|| Error::NotFound(format!("gateway `{name}`")))?;
    Ok(SyncSettings {
        host: g.host,
        port: g.port as u16,
        client_id: g.client_id_base,
        time_zone: g
            .time_zone
            .and_then(|z| z.parse().ok())
            .unwrap_or(defaults.time_zone),
        ..defaults.clone()
    })
}

/// Where and how far back a sync connects: a gateway's settings, after a job's overrides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncSettings {
    pub host: String,
    pub port: u16,
    pub client_id: i32,
    pub connect_timeout: std::time::Duration,
    pub lookback_days: u32,
    /// Zone of the gateway host, for executions timed without a zone.
    pub time_zone: chrono_tz::Tz,
}

impl SyncSettings {
    /// The gateway connect options of a run with these settings.
    pub fn connect_options(&self) -> crate::ib::IbConnectOptions {
        crate::ib::IbConnectOptions {
            host: self.host.clone(),
            port: self.port,
            client_id: self.client_id,
            connect_timeout: self.connect_timeout,
            time_zone: self.time_zone,
        }
    }
}
