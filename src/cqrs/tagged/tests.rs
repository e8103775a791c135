//! The hand-written readers of the engine's events agree with the `{"type", "data"}` form
//! their `Serialize` writes, and with the derived `Deserialize` they replaced.
use super::*;
use crate::core::event::{RecordedEvent, StreamId, Timestamp, Version};
use crate::cqrs::saga::{Failure, SagaEvent};
use crate::error::Error;

fn recorded(event_type: &str, data: &str) -> RecordedEvent {
    RecordedEvent {
        id: crate::cqrs::ids::derive(&["t"]),
        stream: StreamId::new("$saga-s-1").unwrap(),
        event_type: EventType::new(event_type).unwrap(),
        data: Json::parse(data).unwrap(),
        metadata: Json::empty_object(),
        version: Version(1),
        position: Position(1),
        timestamp: Timestamp(0),
    }
}

/// What the derived `Deserialize` made of the stored event (the previous reader).
fn derived(e: &RecordedEvent) -> Option<SagaEvent> {
    let tagged = format!(r#"{{"type":"{}","data":{}}}"#, e.event_type, e.data);
    serde_json::from_str(&tagged).ok()
}

fn all_saga_events() -> Vec<SagaEvent> {
    let failure = Failure {
        code: "DECIDER_REJECTED".into(),
        message: "no \"stock\"".into(),
    };
    let id = crate::cqrs::ids::derive(&["c"]);
    vec![
        SagaEvent::SagaStarted {
            input: Json::parse(r#"{"b":1.50,"a":[1e3,null]}"#).unwrap(),
            correlation_id: "corr".into(),
        },
        SagaEvent::StepStarted {
            step: 2,
            command_id: id.clone(),
            after: Position(41),
            due: Some(-5),
        },
        SagaEvent::StepStarted {
            step: 0,
            command_id: id.clone(),
            after: Position(0),
            due: None,
        },
        SagaEvent::StepCompleted {
            step: 1,
            result: Json::null(),
        },
        SagaEvent::StepFailed {
            step: 3,
            error: failure.clone(),
        },
        SagaEvent::CompensationStarted {
            step: 1,
            command_id: id,
            after: Position(9),
        },
        SagaEvent::CompensationCompleted { step: 1 },
        SagaEvent::CompensationFailed {
            step: 1,
            error: failure.clone(),
        },
        SagaEvent::CompensationParked {
            step: 1,
            error: failure,
        },
        SagaEvent::CompensationRetried { step: 1 },
        SagaEvent::CompensationSkipped { step: 0 },
        SagaEvent::SagaCompleted,
        SagaEvent::SagaCompensated,
    ]
}

#[test]
fn saga_events_read_back_as_written() {
    for event in all_saga_events() {
        let new = to_event(crate::cqrs::ids::derive(&["x"]), &event).unwrap();
        let e = recorded(new.event_type.as_str(), new.data.as_str());
        assert_eq!(SagaEvent::decode(&e).unwrap(), event);
        assert_eq!(derived(&e), Some(event));
    }
}

#[test]
fn saga_event_data_as_stored_stays_byte_identical() {
    let event = SagaEvent::StepStarted {
        step: 2,
        command_id: crate::cqrs::ids::derive(&["c"]),
        after: Position(41),
        due: None,
    };
    let new = to_event(crate::cqrs::ids::derive(&["x"]), &event).unwrap();
    assert_eq!(new.event_type.as_str(), "StepStarted");
    assert_eq!(
        new.data.as_str(),
        format!(
            r#"{{"step":2,"commandId":"{}","after":41,"due":null}}"#,
            crate::cqrs::ids::derive(&["c"])
        )
    );
    let done = to_event(crate::cqrs::ids::derive(&["y"]), &SagaEvent::SagaCompleted).unwrap();
    assert_eq!(done.data.as_str(), "null");
}

#[test]
fn saga_reader_accepts_and_rejects_what_the_derived_reader_did() {
    let id = crate::cqrs::ids::derive(&["c"]);
    let cases = [
        // Unknown fields are ignored; a missing optional field is `None`.
        (
            "StepStarted",
            format!(r#"{{"step":1,"commandId":"{id}","after":3,"x":[{{}}]}}"#),
        ),
        (
            "StepCompleted",
            r#"{"result":{"k":"v"},"step":0}"#.to_owned(),
        ),
        ("SagaCompleted", "null".to_owned()),
        // Missing required fields, wrong types, out of range, bad ids, wrong shapes.
        ("StepStarted", format!(r#"{{"step":1,"commandId":"{id}"}}"#)),
        (
            "StepStarted",
            format!(r#"{{"step":-1,"commandId":"{id}","after":3}}"#),
        ),
        (
            "StepStarted",
            format!(r#"{{"step":1.5,"commandId":"{id}","after":3}}"#),
        ),
        (
            "StepStarted",
            format!(r#"{{"step":1,"commandId":"{id}","after":3,"due":"x"}}"#),
        ),
        (
            "StepStarted",
            r#"{"step":1,"commandId":"nope","after":3}"#.to_owned(),
        ),
        (
            "StepFailed",
            r#"{"step":1,"error":{"code":"X"}}"#.to_owned(),
        ),
        ("StepFailed", r#"{"step":1,"error":"X"}"#.to_owned()),
        ("SagaStarted", r#"{"input":1,"correlationId":7}"#.to_owned()),
        ("SagaCompleted", "{}".to_owned()),
        ("StepCompleted", "[0]".to_owned()),
        ("Unknown", "{}".to_owned()),
    ];
    for (event_type, data) in cases {
        let e = recorded(event_type, &data);
        let ours = SagaEvent::decode(&e);
        assert_eq!(
            ours.as_ref().ok(),
            derived(&e).as_ref(),
            "{event_type} {data}"
        );
        if let Err(err) = ours {
            assert!(matches!(err, Error::CorruptData { .. }), "{err:?}");
            assert!(err.to_string().contains("not a saga event"), "{err}");
        }
    }
}
