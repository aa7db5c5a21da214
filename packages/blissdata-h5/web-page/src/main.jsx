// H5Web over `blissdata-h5 serve`: the file list, then one file (?file=...&path=...).
// Live files: the page asks /version for the file's state every 2 s and
// refreshes H5Web's data (keeping the selected object) when it changed.
// H5Web's provider drops its caches on a refresh, so the view shows its
// loading state for a moment; a React transition cannot hold the old view
// because the provider creates its stores while rendering.
import '@h5web/app/styles.css';
import './style.css';

import { App, H5GroveProvider } from '@h5web/app';
import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';

const POLL_MS = 2000;
const params = new URLSearchParams(window.location.search);
const origin = window.location.origin;

async function getJson(endpoint, query = {}) {
  const url = `${origin}${endpoint}?${new URLSearchParams(query)}`;
  const response = await fetch(url, { cache: 'no-store' });
  if (!response.ok) {
    throw new Error(`${endpoint}: HTTP ${response.status}`);
  }
  return response.json();
}

function useVersion(file, enabled) {
  // `null` until the first answer (or failure): H5Web starts only then, so
  // that the first poll does not reset it while its plot is being created.
  const [version, setVersion] = useState(null);
  useEffect(() => {
    if (!enabled) {
      return undefined;
    }
    let stopped = false;
    const poll = async () => {
      let next = '';
      try {
        ({ version: next } = await getJson('/version', { file }));
      } catch {
        // the server may be restarting: keep the last state, ask again later
      }
      if (!stopped) {
        setVersion((last) => (next || last === null ? next : last));
      }
    };
    poll();
    const id = setInterval(poll, POLL_MS);
    return () => {
      stopped = true;
      clearInterval(id);
    };
  }, [file, enabled]);
  return version;
}

function Viewer({ file, initialPath }) {
  const [live, setLive] = useState(true);
  const version = useVersion(file, live);
  return (
    <div className="page">
      <header className="bar">
        <a href="/">files</a>
        <span className="file" data-testid="file">{file}</span>
        <label>
          <input
            type="checkbox"
            checked={live}
            onChange={(event) => setLive(event.target.checked)}
          />{' '}
          live
        </label>
      </header>
      <main className="viewer">
        {live && version === null ? (
          <p className="message">Loading…</p>
        ) : (
          <H5GroveProvider url={origin} filepath={file} resetKeys={[version]}>
            <App initialPath={initialPath} />
          </H5GroveProvider>
        )}
      </main>
    </div>
  );
}

function FileList() {
  const [listing, setListing] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    getJson('/files').then(setListing, (reason) => setError(String(reason)));
  }, []);
  if (error) {
    return <p className="message">{error}</p>;
  }
  if (!listing) {
    return <p className="message">Loading…</p>;
  }
  return (
    <div className="list">
      <h1>blissdata-h5</h1>
      <p>Served: {listing.roots.join(', ')}</p>
      <ul>
        {listing.files.map(({ file, live }) => (
          <li key={file}>
            <a href={`/?${new URLSearchParams({ file })}`}>{file}</a>
            {live && <span className="live"> live</span>}
          </li>
        ))}
      </ul>
      {listing.files.length === 0 && <p>No HDF5 file or live scan yet.</p>}
    </div>
  );
}

const file = params.get('file');
createRoot(document.getElementById('root')).render(
  <StrictMode>
    {file ? <Viewer file={file} initialPath={params.get('path') || '/'} /> : <FileList />}
  </StrictMode>,
);
