//! A small renderer of the Helm template subset the chart uses: values, `include` and
//! `define`, `if`/`else`/`with`, `not`, `or`, parentheses, comments, and the `quote`, `nindent`,
//! `toYaml` and `sha256sum` functions. Anything else panics, so the chart cannot quietly
//! grow a construct these tests do not understand.

use std::collections::HashMap;
use std::ops::Index;
use std::path::Path;

use serde_json::{Value, json};

pub const CHART: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/helm/releasebot");

enum Node {
    Text(String),
    Action(String),
    If(String, Vec<Node>, Vec<Node>),
    With(String, Vec<Node>),
}

/// Splits a template into text and `{{ }}` actions, applying the `{{-`/`-}}` trims.
fn lex(template: &str) -> Vec<(bool, String)> {
    let mut out: Vec<(bool, String)> = Vec::new();
    let mut rest = template;
    let mut trim_next = false;
    while let Some(start) = rest.find("{{") {
        let mut text = rest[..start].to_string();
        if trim_next {
            text = text.trim_start().to_string();
        }
        let after = &rest[start + 2..];
        let end = after.find("}}").expect("an action is closed");
        let mut action = &after[..end];
        if let Some(a) = action.strip_prefix('-') {
            text = text.trim_end().to_string();
            action = a;
        }
        trim_next = action.ends_with('-');
        let action = action.trim_end_matches('-').trim().to_string();
        out.push((false, text));
        out.push((true, action));
        rest = &after[end + 2..];
    }
    let mut text = rest.to_string();
    if trim_next {
        text = text.trim_start().to_string();
    }
    out.push((false, text));
    out
}

/// Builds the tree; `define` blocks go into `defines`.
fn parse(
    tokens: &mut std::iter::Peekable<std::vec::IntoIter<(bool, String)>>,
    defines: &mut HashMap<String, Vec<Node>>,
) -> (Vec<Node>, Option<String>) {
    let mut nodes = Vec::new();
    while let Some((action, text)) = tokens.next() {
        if !action {
            nodes.push(Node::Text(text));
            continue;
        }
        if text.starts_with("/*") {
            continue;
        }
        let word = text.split_whitespace().next().unwrap_or("");
        match word {
            "end" | "else" => return (nodes, Some(word.to_string())),
            "define" => {
                let name = text["define".len()..].trim().trim_matches('"').to_string();
                let (body, _) = parse(tokens, defines);
                defines.insert(name, body);
            }
            "if" => {
                let cond = text["if".len()..].trim().to_string();
                let (then, ended) = parse(tokens, defines);
                let otherwise = if ended.as_deref() == Some("else") {
                    parse(tokens, defines).0
                } else {
                    Vec::new()
                };
                nodes.push(Node::If(cond, then, otherwise));
            }
            "with" => {
                let expr = text["with".len()..].trim().to_string();
                let (body, _) = parse(tokens, defines);
                nodes.push(Node::With(expr, body));
            }
            _ => nodes.push(Node::Action(text)),
        }
    }
    (nodes, None)
}

struct Renderer {
    root: Value,
    defines: HashMap<String, Vec<Node>>,
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Number(n) => n.as_f64() != Some(0.0),
    }
}

fn to_yaml(v: &Value) -> String {
    serde_yaml::to_string(v).unwrap().trim_end().to_string()
}

impl Renderer {
    fn render(&self, nodes: &[Node], dot: &Value) -> String {
        let mut out = String::new();
        for node in nodes {
            match node {
                Node::Text(t) => out.push_str(t),
                Node::Action(a) => out.push_str(&self.pipeline(a, dot)),
                Node::If(cond, then, otherwise) => {
                    let v = self.eval(cond, dot);
                    out.push_str(&self.render(if truthy(&v) { then } else { otherwise }, dot));
                }
                Node::With(expr, body) => {
                    let v = self.eval(expr, dot);
                    if truthy(&v) {
                        out.push_str(&self.render(body, &v));
                    }
                }
            }
        }
        out
    }

    fn pipeline(&self, text: &str, dot: &Value) -> String {
        let mut stages = text.split('|').map(str::trim);
        let mut value = self.eval(stages.next().unwrap(), dot);
        for stage in stages {
            let mut words = stage.split_whitespace();
            value = match (words.next(), words.next()) {
                (Some("quote"), _) => Value::String(format!("{:?}", as_text(&value))),
                (Some("sha256sum"), _) => {
                    Value::String(format!("sha256-of-{}-bytes", as_text(&value).len()))
                }
                (Some("nindent"), Some(n)) => {
                    let pad = " ".repeat(n.parse().unwrap());
                    Value::String(format!(
                        "\n{}",
                        as_text(&value)
                            .lines()
                            .map(|l| format!("{pad}{l}"))
                            .collect::<Vec<_>>()
                            .join("\n")
                    ))
                }
                other => panic!("the test renderer does not know {other:?}"),
            };
        }
        as_text(&value)
    }

    fn eval(&self, expr: &str, dot: &Value) -> Value {
        let expr = expr.trim();
        if let Some(inner) = expr.strip_prefix('(').and_then(|e| e.strip_suffix(')')) {
            return self.eval(inner, dot);
        }
        if let Some(rest) = expr.strip_prefix("or ") {
            // Go's `or`: the first truthy argument, else the last (arguments are paths).
            let args: Vec<Value> = rest.split_whitespace().map(|a| self.eval(a, dot)).collect();
            let last = args.last().cloned().unwrap_or(Value::Null);
            return args.into_iter().find(truthy).unwrap_or(last);
        }
        if let Some(rest) = expr.strip_prefix("not ") {
            return Value::Bool(!truthy(&self.eval(rest, dot)));
        }
        if let Some(rest) = expr.strip_prefix("toYaml ") {
            return Value::String(to_yaml(&self.eval(rest, dot)));
        }
        if let Some(rest) = expr.strip_prefix("include ") {
            let name = rest.trim().trim_end_matches('.').trim().trim_matches('"');
            let body = self
                .defines
                .get(name)
                .unwrap_or_else(|| panic!("no define {name}"));
            return Value::String(self.render(body, dot));
        }
        if expr == "." {
            return dot.clone();
        }
        if let Some(path) = expr.strip_prefix('.') {
            let mut v = &self.root;
            for part in path.split('.') {
                v = v.get(part).unwrap_or(&Value::Null);
            }
            return v.clone();
        }
        panic!("the test renderer cannot evaluate {expr:?}")
    }
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Renders the chart with `overrides` merged over values.yaml.
pub fn render(overrides: Value) -> Objects {
    let values_text = std::fs::read_to_string(Path::new(CHART).join("values.yaml")).unwrap();
    let mut values: Value = serde_yaml::from_str(&values_text).unwrap();
    merge(&mut values, overrides);
    let chart: Value = serde_yaml::from_str(
        &std::fs::read_to_string(Path::new(CHART).join("Chart.yaml")).unwrap(),
    )
    .unwrap();
    let root = json!({
        "Values": values,
        "Release": {"Name": "prod"},
        "Chart": {"Name": chart["name"], "Version": chart["version"], "AppVersion": chart["appVersion"]},
    });
    let mut defines = HashMap::new();
    let helpers = std::fs::read_to_string(Path::new(CHART).join("templates/_helpers.tpl")).unwrap();
    parse(&mut lex(&helpers).into_iter().peekable(), &mut defines);
    let renderer = Renderer {
        root: root.clone(),
        defines,
    };
    let mut objects = Vec::new();
    for entry in std::fs::read_dir(Path::new(CHART).join("templates")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let mut defines = HashMap::new();
        let (nodes, _) = parse(&mut lex(&text).into_iter().peekable(), &mut defines);
        let rendered = renderer.render(&nodes, &root);
        if rendered.trim().is_empty() {
            continue;
        }
        let object: Value = serde_yaml::from_str(&rendered).unwrap_or_else(|e| {
            panic!(
                "{} does not render to YAML: {e}\n{rendered}",
                path.display()
            )
        });
        assert!(object["kind"].is_string(), "{} has no kind", path.display());
        objects.push(object);
    }
    Objects(objects)
}

fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, o) => *b = o,
    }
}

/// The rendered objects, in no particular order.
pub struct Objects(Vec<Value>);

impl Objects {
    pub fn contains_key(&self, kind: &str) -> bool {
        self.0.iter().any(|o| o["kind"] == kind)
    }

    pub fn all(&self) -> &[Value] {
        &self.0
    }

    pub fn of_kind(&self, kind: &str) -> Vec<&Value> {
        self.0.iter().filter(|o| o["kind"] == kind).collect()
    }
}

/// `objects["Deployment"]`: the one object of that kind.
impl Index<&str> for Objects {
    type Output = Value;

    fn index(&self, kind: &str) -> &Value {
        match self.of_kind(kind).as_slice() {
            [one] => one,
            many => panic!("{} objects of kind {kind}, not one", many.len()),
        }
    }
}
