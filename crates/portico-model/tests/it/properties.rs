//! Property tests: entity references round-trip through their string form, and arbitrary bytes
//! or YAML-like text never make the reader or the validator panic or hang.

use portico_model::{
    EntityRef, KindRegistry, RefDefaults, YamlLimits, decode_utf8, parse_documents, validate_entity,
};
use proptest::prelude::*;

fn part() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9_.-]{0,20}"
}

proptest! {
    #[test]
    fn references_round_trip(kind in "[A-Za-z][A-Za-z0-9]{0,10}", namespace in part(), name in part()) {
        let original = EntityRef::new(&kind, &namespace, &name);
        let printed = original.to_string();
        prop_assert_eq!(&printed, &printed.to_lowercase());
        let parsed = EntityRef::parse(&printed, RefDefaults::default()).unwrap();
        prop_assert_eq!(&parsed, &original);
        prop_assert_eq!(parsed.to_string(), printed);
        // Case-insensitive equality.
        let shouted = EntityRef::parse(&original.to_string().to_uppercase(), RefDefaults::default()).unwrap();
        prop_assert_eq!(shouted, original);
    }

    #[test]
    fn short_references_take_defaults(namespace in "[a-z0-9]{1,10}", name in part()) {
        let parsed = EntityRef::parse(&name, RefDefaults { kind: Some("Group"), namespace: Some(&namespace) }).unwrap();
        prop_assert_eq!(parsed.to_string(), format!("group:{namespace}/{}", name.to_lowercase()));
    }

    #[test]
    fn reference_parsing_never_panics(text in ".{0,40}") {
        let _ = EntityRef::parse(&text, RefDefaults::default());
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(text) = decode_utf8(&bytes) {
            for doc in parse_documents(text, &YamlLimits::default()).into_iter().flatten() {
                let _ = validate_entity(&doc.value, &KindRegistry::builtin());
            }
        }
    }

    #[test]
    fn yaml_like_text_never_panics(text in r##"([a-zA-Z:\-\[\]{}&*!|>'"#, ?%@`\n ]|apiVersion: |kind: |metadata:|spec:|  name: |---\n){0,60}"##) {
        for doc in parse_documents(&text, &YamlLimits::default()).into_iter().flatten() {
            let _ = validate_entity(&doc.value, &KindRegistry::builtin());
        }
    }

    #[test]
    fn mutated_entities_never_panic(cut in 0usize..220, insert in "[\\[\\]{}:\\-'\"& \n]{0,3}") {
        let base = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: svc\n  tags: [a, b]\n  links:\n    - url: https://x\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n  dependsOn: ['resource:db']\n  providesApis: [x]\n";
        let at = cut.min(base.len());
        let text = format!("{}{}{}", &base[..at], insert, &base[at..]);
        for doc in parse_documents(&text, &YamlLimits::default()).into_iter().flatten() {
            let _ = validate_entity(&doc.value, &KindRegistry::builtin());
        }
    }
}
