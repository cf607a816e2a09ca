// Launcher: presets in one click, and a custom experiment built with a form or written as raw JSON.
// A 400 from the server is shown per field path, inline on the form and as a list.

import { useState, type ReactNode } from 'react';
import { DATA_SOURCES, type DataSource } from '@contracts/spec';
import { Empty, ErrorBox, Section } from '../components/bits';
import { api, ApiError, errorText } from '../lib/api';
import { defaultForm, errorsByField, formToDocument, parseJsonDocument, type ExperimentForm, type FormField } from '../lib/experimentForm';
import { useLoad } from '../lib/hooks';
import { routeHref, runHref } from '../lib/route';
import type { FieldError, LaunchResult, PresetView } from '../lib/types';

function Launched({ result }: { result: LaunchResult }) {
  return (
    <div className="success-box" data-testid="launch-result">
      Launched <strong>{result.experiment.name}</strong> with {result.runs.length} run{result.runs.length === 1 ? '' : 's'}.{' '}
      <a href={routeHref({ view: 'runs', status: null, experiment_id: result.experiment.id, page: 0 })}>Show its runs</a>
      {result.runs.length > 0 && (
        <div className="run-links">
          {result.runs.slice(0, 12).map((r) => (
            <a key={r.id} href={runHref(r.id)} className="chip">
              {r.name}
            </a>
          ))}
          {result.runs.length > 12 && <span className="muted">+{result.runs.length - 12} more</span>}
        </div>
      )}
    </div>
  );
}

function ErrorList({ errors, message }: { errors: FieldError[]; message: string }) {
  return (
    <div className="error-box error-list" role="alert" data-testid="launch-errors">
      <div>{message}</div>
      {errors.length > 0 && (
        <ul className="field-errors">
          {errors.map((e, i) => (
            <li key={i}>
              <code>{e.path || '(document)'}</code> {e.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function PresetCard({ preset }: { preset: PresetView }) {
  const names = preset.profiles.map((p) => p.name);
  const [profile, setProfile] = useState(
    preset.default_profile && names.includes(preset.default_profile) ? preset.default_profile : names.includes('smoke') ? 'smoke' : (names[0] ?? ''),
  );
  const profileInfo = preset.profiles.find((p) => p.name === profile);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<LaunchResult | null>(null);
  const [error, setError] = useState<ApiError | string | null>(null);
  const launch = async () => {
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      setResult(await api.launchPreset(preset.name, profile));
    } catch (err) {
      setError(err instanceof ApiError ? err : errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="preset" data-testid="preset" data-preset={preset.name}>
      <div className="preset-head">
        <div>
          <div className="preset-name">{preset.name}</div>
          <div className="muted small">
            {preset.runs} run{preset.runs === 1 ? '' : 's'}
          </div>
        </div>
        <div className="preset-actions">
          {preset.profiles.length > 0 && (
            <select value={profile} onChange={(e) => setProfile(e.target.value)} aria-label="profile" data-testid="preset-profile">
              {preset.profiles.map((p) => (
                <option key={p.name} value={p.name} title={p.description ?? undefined}>
                  {p.name}
                </option>
              ))}
            </select>
          )}
          <button type="button" className="btn btn-primary" data-testid="launch-preset" data-preset={preset.name} disabled={busy} onClick={launch}>
            {busy ? 'Launching…' : 'Launch'}
          </button>
        </div>
      </div>
      <p className="preset-desc">{preset.description}</p>
      {profileInfo?.description && (
        <p className="preset-desc small" data-testid="preset-profile-description">
          <strong>{profileInfo.name}:</strong> {profileInfo.description}
        </p>
      )}
      {preset.run_names.length > 0 && (
        <div className="run-links">
          {preset.run_names.map((n) => (
            <span key={n} className="chip">
              {n}
            </span>
          ))}
        </div>
      )}
      {result && <Launched result={result} />}
      {error && (typeof error === 'string' ? <ErrorBox>{error}</ErrorBox> : <ErrorList errors={error.errors} message={errorText(error)} />)}
    </div>
  );
}

function Field({ label, field, errors, children, hint }: { label: string; field: FormField; errors: Map<FormField | null, FieldError[]>; children: ReactNode; hint?: string }) {
  const errs = errors.get(field) ?? [];
  return (
    <label className={`field${errs.length ? ' field-invalid' : ''}`} data-field={field}>
      <span className="field-label">{label}</span>
      {children}
      {hint && !errs.length && <span className="field-hint">{hint}</span>}
      {errs.map((e, i) => (
        <span key={i} className="field-error">
          {e.message}
        </span>
      ))}
    </label>
  );
}

function CustomExperiment() {
  const [form, setForm] = useState<ExperimentForm>(defaultForm);
  const [jsonText, setJsonText] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [serverError, setServerError] = useState<{ message: string; errors: FieldError[] } | null>(null);
  const [result, setResult] = useState<LaunchResult | null>(null);

  const built = formToDocument(form);
  const editorDetached = jsonText !== null;
  const editorText = jsonText ?? JSON.stringify(built.doc, null, 2);
  const parsed = editorDetached ? parseJsonDocument(editorText) : null;
  const shownErrors = serverError?.errors ?? [];
  const byField = errorsByField([...(editorDetached ? [] : built.errors), ...shownErrors], form);

  const set = <K extends FormField>(k: K, v: ExperimentForm[K]) => {
    setForm((f) => ({ ...f, [k]: v }));
    setServerError(null);
  };
  const text = (k: FormField, props: { type?: string; placeholder?: string; step?: string } = {}) => (
    <input type={props.type ?? 'text'} step={props.step} placeholder={props.placeholder} value={String(form[k])} onChange={(e) => set(k, e.target.value as never)} />
  );

  const submit = async () => {
    let doc: unknown;
    if (editorDetached) {
      if (!parsed || 'error' in parsed) return;
      doc = parsed.doc;
    } else {
      if (built.errors.length) return;
      doc = built.doc;
    }
    setBusy(true);
    setServerError(null);
    setResult(null);
    try {
      setResult(await api.createExperiment(doc));
    } catch (err) {
      setServerError(err instanceof ApiError ? { message: errorText(err), errors: err.errors } : { message: errorText(err), errors: [] });
    } finally {
      setBusy(false);
    }
  };
  const blocked = editorDetached ? !parsed || 'error' in parsed : built.errors.length > 0;

  return (
    <Section title="Custom experiment">
      <div className="launch-grid">
        <form
          className={`form${editorDetached ? ' form-detached' : ''}`}
          onSubmit={(e) => {
            e.preventDefault();
            void submit();
          }}
        >
          <fieldset>
            <legend>Experiment</legend>
            <Field label="name" field="name" errors={byField}>
              {text('name', { placeholder: 'e.g. conv1-5x5-lr3e-4' })}
            </Field>
          </fieldset>
          <fieldset>
            <legend>Model · ResNet18</legend>
            <Field label="weights" field="pretrained" errors={byField}>
              <select value={form.pretrained} onChange={(e) => set('pretrained', e.target.value as ExperimentForm['pretrained'])}>
                <option value="false">from scratch</option>
                <option value="true">ImageNet (torchvision DEFAULT, local cache)</option>
                <option value="file">weights file…</option>
              </select>
            </Field>
            {form.pretrained === 'file' && (
              <Field label="weights file" field="weights_file" errors={byField}>
                {text('weights_file', { placeholder: '/path/to/resnet18.pth' })}
              </Field>
            )}
            <div className="row">
              <label className="check-field">
                <input type="checkbox" checked={form.conv1_custom} onChange={(e) => set('conv1_custom', e.target.checked)} /> replace conv1
              </label>
              <label className="check-field">
                <input type="checkbox" checked={form.maxpool} onChange={(e) => set('maxpool', e.target.checked)} /> maxpool
              </label>
            </div>
            {(byField.get('conv1_custom') ?? []).map((e, i) => (
              <div key={i} className="field-error">
                conv1: {e.message}
              </div>
            ))}
            {form.conv1_custom && (
              <div className="row">
                <Field label="kernel" field="conv1_kernel" errors={byField}>
                  {text('conv1_kernel', { type: 'number' })}
                </Field>
                <Field label="stride" field="conv1_stride" errors={byField}>
                  {text('conv1_stride', { type: 'number' })}
                </Field>
                <Field label="padding" field="conv1_padding" errors={byField}>
                  {text('conv1_padding', { type: 'number' })}
                </Field>
              </div>
            )}
          </fieldset>
          <fieldset>
            <legend>Data</legend>
            <div className="row">
              <Field label="source" field="source" errors={byField}>
                <select value={form.source} onChange={(e) => set('source', e.target.value as DataSource)}>
                  {DATA_SOURCES.map((s) => (
                    <option key={s} value={s}>
                      {s}
                    </option>
                  ))}
                </select>
              </Field>
              <Field label="resize" field="resize" errors={byField} hint="empty = native size">
                {text('resize', { type: 'number', placeholder: 'e.g. 224' })}
              </Field>
            </div>
            <Field label="path" field="path" errors={byField} hint="empty = the source's default location">
              {text('path', { placeholder: 'default' })}
            </Field>
            <div className="row">
              <Field label="train subset" field="train_subset" errors={byField} hint="empty = all">
                {text('train_subset', { type: 'number' })}
              </Field>
              <Field label="test subset" field="test_subset" errors={byField} hint="empty = all">
                {text('test_subset', { type: 'number' })}
              </Field>
            </div>
          </fieldset>
          <fieldset>
            <legend>Training</legend>
            <div className="row">
              <Field label="epochs" field="epochs" errors={byField}>
                {text('epochs', { type: 'number' })}
              </Field>
              <Field label="batch size" field="batch_size" errors={byField}>
                {text('batch_size', { type: 'number' })}
              </Field>
              <Field label="learning rate (Adam)" field="lr" errors={byField}>
                {text('lr', { placeholder: '0.001' })}
              </Field>
              <Field label="GPUs" field="gpus" errors={byField} hint="0 = a CPU slot">
                {text('gpus', { type: 'number' })}
              </Field>
            </div>
          </fieldset>
          <div className="form-actions">
            <button type="submit" className="btn btn-primary" data-testid="launch-custom" disabled={busy || blocked}>
              {busy ? 'Launching…' : editorDetached ? 'Launch JSON document' : 'Launch experiment'}
            </button>
            {editorDetached && <span className="muted small">launching the JSON editor's document; the form is not used</span>}
          </div>
        </form>
        <div className="json-editor">
          <div className="json-head">
            <span>Experiment document (JSON)</span>
            {editorDetached ? (
              <button type="button" className="btn btn-small" onClick={() => setJsonText(null)}>
                Reset from form
              </button>
            ) : (
              <span className="muted small">follows the form; edit to take over</span>
            )}
          </div>
          <textarea
            spellCheck={false}
            data-testid="experiment-json"
            value={editorText}
            onChange={(e) => {
              setJsonText(e.target.value);
              setServerError(null);
            }}
          />
          {parsed && 'error' in parsed && <div className="field-error">{parsed.error}</div>}
          <p className="muted small">
            Top-level fields: name, model, data, optim, train, resources, priority, max_restarts, and sweeps with variants: [{'{'}name, overrides{'}'}] or grid: {'{'}"optim.lr": [...]{'}'}.
          </p>
        </div>
      </div>
      {serverError && <ErrorList message={serverError.message} errors={serverError.errors} />}
      {result && <Launched result={result} />}
    </Section>
  );
}

export function LaunchView() {
  const presets = useLoad((s) => api.presets(s), []);
  return (
    <div className="stack">
      <Section title="Presets">
        {presets.error && <ErrorBox onRetry={presets.reload}>Could not load presets: {presets.error}</ErrorBox>}
        {presets.loading && !presets.data && <div className="muted">loading presets…</div>}
        {presets.data && presets.data.length === 0 && <Empty>The server offers no presets.</Empty>}
        <div className="presets">
          {(presets.data ?? []).map((p) => (
            <PresetCard key={p.name} preset={p} />
          ))}
        </div>
      </Section>
      <CustomExperiment />
    </div>
  );
}
