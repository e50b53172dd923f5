// bilan: drag-and-drop and upload progress. Everything works without this
// file (plain forms); it only makes sending more comfortable.
"use strict";

function initZones(root) {
  root.querySelectorAll("[data-zone]").forEach(function (zone) {
    var input = zone.querySelector("input[type=file]");
    var help = zone.querySelector("[data-zone-aide]");
    if (!input) { return; }
    if (help) { help.hidden = false; }
    zone.addEventListener("dragover", function (e) {
      e.preventDefault();
      zone.classList.add("survol");
    });
    zone.addEventListener("dragleave", function () { zone.classList.remove("survol"); });
    zone.addEventListener("drop", function (e) {
      e.preventDefault();
      zone.classList.remove("survol");
      if (e.dataTransfer && e.dataTransfer.files.length) {
        input.files = e.dataTransfer.files;
        if (help) {
          var names = [];
          for (var i = 0; i < input.files.length; i++) { names.push(input.files[i].name); }
          help.textContent = "Fichier(s) choisi(s) : " + names.join(", ");
        }
      }
    });
  });
}

function showPage(html, url) {
  var doc = new DOMParser().parseFromString(html, "text/html");
  document.title = doc.title;
  document.body.replaceWith(doc.body);
  if (url && url !== window.location.href) {
    window.history.pushState({}, "", url);
  }
  init(document);
  var main = document.getElementById("contenu");
  if (main) { main.focus(); }
}

function initProgress(root) {
  root.querySelectorAll("form[data-progression]").forEach(function (form) {
    var text = form.querySelector("[data-progression-texte]");
    form.addEventListener("submit", function (e) {
      if (!window.FormData || !window.XMLHttpRequest) { return; }
      e.preventDefault();
      var button = form.querySelector("button[type=submit]");
      if (button) { button.disabled = true; }
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.upload.addEventListener("progress", function (ev) {
        if (text && ev.lengthComputable) {
          var pct = Math.round(100 * ev.loaded / ev.total);
          text.textContent = pct < 100 ? "Envoi : " + pct + " %" : "Contrôle en cours…";
        }
      });
      xhr.addEventListener("load", function () {
        showPage(xhr.responseText, xhr.responseURL);
      });
      xhr.addEventListener("error", function () {
        if (button) { button.disabled = false; }
        if (text) { text.textContent = "L'envoi a échoué (connexion interrompue) : rien n'a été enregistré. Réessayez."; }
      });
      if (text) { text.textContent = "Envoi : 0 %"; }
      xhr.send(new FormData(form));
    });
  });
}

function initLinks(root) {
  root.querySelectorAll("input.lien-depot").forEach(function (input) {
    input.addEventListener("focus", function () { input.select(); });
  });
}

function initCopy(root) {
  root.querySelectorAll("button[data-copier]").forEach(function (button) {
    var input = document.getElementById(button.getAttribute("data-copier"));
    if (!input) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var done = function () { button.textContent = "Lien copié"; };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(input.value).then(done, function () {
          input.select();
          document.execCommand("copy");
          done();
        });
      } else {
        input.select();
        document.execCommand("copy");
        done();
      }
    });
  });
}

function init(root) {
  initZones(root);
  initProgress(root);
  initLinks(root);
  initCopy(root);
}

document.addEventListener("DOMContentLoaded", function () { init(document); });
