//! Supervises guild, channel and user actors: when one fails (panics or errors), it is dropped
//! from the registry, so the next request spawns a fresh actor that reloads its state from the
//! store. The request that hit the failure gets a 500 in Discord's format; nothing else notices.

use std::sync::Weak;

use ractor::{Actor, ActorProcessingErr, ActorRef, SupervisionEvent};

use super::Services;

pub struct Supervisor;

impl Actor for Supervisor {
    type Msg = ();
    type State = Weak<Services>;
    type Arguments = Weak<Services>;

    async fn pre_start(
        &self,
        _me: ActorRef<()>,
        services: Weak<Services>,
    ) -> Result<Weak<Services>, ActorProcessingErr> {
        Ok(services)
    }

    async fn handle_supervisor_evt(
        &self,
        _me: ActorRef<()>,
        event: SupervisionEvent,
        services: &mut Weak<Services>,
    ) -> Result<(), ActorProcessingErr> {
        let Some(services) = services.upgrade() else {
            return Ok(());
        };
        match event {
            SupervisionEvent::ActorFailed(cell, err) => {
                tracing::error!(actor = %cell.get_id(), error = %err, "actor failed; it will be respawned from the store on next use");
                services.registry.forget(cell.get_id());
            }
            SupervisionEvent::ActorTerminated(cell, _, reason) => {
                tracing::debug!(actor = %cell.get_id(), ?reason, "actor stopped");
                services.registry.forget(cell.get_id());
            }
            _ => {}
        }
        Ok(())
    }
}
