const el = document.getElementById('health');
fetch('/api/health')
  .then((r) => r.json())
  .then((h) => (el.textContent = `backend: ${h.status}`))
  .catch((e) => (el.textContent = `backend unreachable: ${e.message}`));
