//! Pages for anyone: the self-check, blank templates, the rule reference, and
//! the static files.

use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};

use super::{attachment, max_size_fr, nav, with_cookie, XLSX};
use crate::web::engine::Wait;
use crate::web::pages::{self, render, Home, RuleItem, RulePage, SelfCheckItem, SelfCheckResults, TemplateItem};
use crate::web::service::intake::{read_upload, Door, SELF_CHECK_FILES};
use crate::web::{Shared, WebError};

pub async fn home(State(state): State<Shared>, headers: HeaderMap) -> Result<Response, WebError> {
    let (nav, cookie) = nav(&state, &headers)?;
    let page = Home {
        nav,
        enabled: state.config.self_check,
        max_size: max_size_fr(state.config.max_file_size),
    };
    Ok(with_cookie(render(&page), cookie))
}

pub async fn self_check(
    State(state): State<Shared>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, WebError> {
    if !state.config.self_check {
        return Err(WebError::Forbidden(
            "L'autocontrôle est désactivé sur ce serveur.".into(),
        ));
    }
    let form = read_upload(&state, &headers, multipart, Door::Page, SELF_CHECK_FILES).await?;
    if form.files.is_empty() {
        return Err(WebError::BadRequest(Door::Page.no_file_to_check().into()));
    }
    let tmp = state.store.data_dir().join("tmp");
    let mut files = Vec::new();
    for f in &form.files {
        let (checked, bytes) = state
            .engine
            .check_annotated(f.temp_path().to_path_buf(), f.name.clone(), &tmp, Wait::IfRoom)
            .await?;
        let annotated = state.annotated.put(super::annotated_name(&f.name), bytes)?;
        files.push(SelfCheckItem {
            view: checked.view,
            annotated,
        });
    }
    let (nav, cookie) = nav(&state, &headers)?;
    Ok(with_cookie(render(&SelfCheckResults { nav, files }), cookie))
}

pub async fn self_check_annotated(State(state): State<Shared>, Path(key): Path<String>) -> Result<Response, WebError> {
    let (name, bytes) = state.annotated.get(&key).ok_or(WebError::Forbidden(
        "Ce classeur annoté n'est plus disponible (il est gardé une heure) : contrôlez le fichier de nouveau.".into(),
    ))?;
    Ok(attachment(bytes.as_ref().clone(), &name, XLSX))
}

pub async fn templates(State(state): State<Shared>, headers: HeaderMap) -> Result<Response, WebError> {
    let (nav, cookie) = nav(&state, &headers)?;
    let checker = state.engine.checker();
    let templates = checker
        .templates
        .all()
        .into_iter()
        .map(|t| TemplateItem {
            id: t.id.clone(),
            title: t.title.clone(),
        })
        .collect();
    let rules = crate::docs::rule_rows(&checker.rules, None)
        .into_iter()
        .map(|r| RuleItem {
            severity_label: crate::finding::Severity::parse(&r.severity)
                .map(|s| s.title_fr().to_string())
                .unwrap_or(r.severity),
            id: r.id,
            template: if r.template == "*" { "tous".into() } else { r.template },
            title: r.title,
        })
        .collect();
    let page = pages::TemplatesPage { nav, templates, rules };
    Ok(with_cookie(render(&page), cookie))
}

/// `/modeles/BILAN-POLE.xlsx`: the name is looked up among the known templates.
pub async fn blank_template(State(state): State<Shared>, Path(file): Path<String>) -> Result<Response, WebError> {
    let id = file.strip_suffix(".xlsx").ok_or(WebError::NotFound)?;
    let checker = state.engine.checker();
    let template = checker.templates.get(id).ok_or(WebError::NotFound)?;
    let bytes = crate::blank::blank_checked(template, &checker.rules)
        .map_err(|e| WebError::Internal(format!("modèle vierge impossible : {}", e.message)))?;
    Ok(attachment(bytes, &format!("{}.xlsx", template.id), XLSX))
}

pub async fn rule(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let checker = state.engine.checker();
    let text = crate::docs::explain(&checker.rules, &checker.templates, &id).ok_or(WebError::NotFound)?;
    let (nav, cookie) = nav(&state, &headers)?;
    Ok(with_cookie(render(&RulePage { nav, id, text }), cookie))
}

pub async fn asset(Path(file): Path<String>) -> Result<Response, WebError> {
    let (body, kind) = match file.as_str() {
        "app.js" => (include_str!("../static/app.js"), "text/javascript; charset=utf-8"),
        "style.css" => (include_str!("../static/style.css"), "text/css; charset=utf-8"),
        _ => return Err(WebError::NotFound),
    };
    let mut resp = body.into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    Ok(resp)
}

/// `/accessibilite`: the accessibility statement (RGAA).
pub async fn accessibility(State(state): State<Shared>, headers: HeaderMap) -> Result<Response, WebError> {
    let (nav, cookie) = nav(&state, &headers)?;
    Ok(with_cookie(render(&pages::AccessibilityPage { nav }), cookie))
}
