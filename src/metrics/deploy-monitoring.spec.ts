import { load } from 'js-yaml';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Histogram, Summary } from 'prom-client';
import { MetricsService } from './metrics.service';

/**
 * The alerting rules and the Grafana dashboard under deploy/ name metrics by string; renaming a metric in
 * MetricsService would leave them watching a series that no longer exists, and an alert on a missing series never
 * fires. This spec ties them to the metrics the service really registers, and checks what promtool does not: every
 * alert has a runbook section and test cases of both kinds, and the dashboard imports anywhere.
 */

const root = join(__dirname, '..', '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

interface AlertRule {
  alert: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: { name: string; rules: AlertRule[] }[];
}
interface RuleTestFile {
  tests: { name: string; alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
}
interface DashboardPanel {
  title: string;
  datasource?: { type: string; uid: string };
  targets?: { expr: string; datasource?: { type: string; uid: string } }[];
  panels?: DashboardPanel[];
}
interface Dashboard {
  links: unknown[];
  templating: { list: { name: string; type: string; query: string }[] };
  panels: DashboardPanel[];
}

const alertRules = (load(read('deploy/prometheus/alerts.yml')) as RuleFile).groups.flatMap((group) => group.rules);
const ruleTests = (load(read('deploy/prometheus/alerts.test.yml')) as RuleTestFile).tests;
const dashboardText = read('deploy/grafana/setgetapi.json');
const dashboard = JSON.parse(dashboardText) as Dashboard;
const dashboardPanels = (panels: DashboardPanel[]): DashboardPanel[] =>
  panels.flatMap((panel) => [panel, ...dashboardPanels(panel.panels ?? [])]);

/** Series Prometheus itself writes for every scrape target; no application registers them. */
const PROMETHEUS_SERIES = new Set(['up']);
const PROMQL_KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);

/**
 * The metric names a PromQL expression selects. Not a parser: it blanks what cannot be a metric name (Grafana
 * variables, strings, label matchers, ranges, `by (...)`-style label lists), then keeps the identifiers that are
 * neither a function call nor a keyword. Enough for the expressions under deploy/, which its own cases pin.
 */
function metricNamesIn(expr: string): string[] {
  const bare = expr
    .replace(/\$\{\w+\}|\$\w+/g, ' ')
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  // Not after a digit or a dot: the `e3` of 1e3 and the `m` of `offset 15m` are not names.
  for (const [, name, call] of bare.matchAll(/(?<![\w.])([A-Za-z_:][\w:]*)(\s*\()?/g)) {
    if (call === undefined && !PROMQL_KEYWORDS.has(name.toLowerCase())) names.add(name);
  }
  return [...names];
}

/** What GitHub makes of a Markdown heading for its anchor. */
const anchorOf = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\w\- ]/g, '')
    .replace(/ /g, '-');

describe('metricNamesIn', () => {
  it.each([
    ['max by (reason) (setgetapi_ingest_paused) == 1', ['setgetapi_ingest_paused']],
    [
      'histogram_quantile(0.99, sum by (le, route) (rate(setgetapi_query_duration_seconds_bucket[$__rate_interval])))',
      ['setgetapi_query_duration_seconds_bucket'],
    ],
    [
      'sum(increase(setgetapi_archive_runs_total{status="failed", x=~"a{1}"}[1h])) > 0',
      ['setgetapi_archive_runs_total'],
    ],
    ['max(a_gauge) - max(a_gauge offset 15m) > 1e3 * 24', ['a_gauge']],
    ['time() - max(last_seconds > 0) > 26 * 3600', ['last_seconds']],
    ['a_total / ignoring(kind) group_left(instance) b_total unless on(job) up', ['a_total', 'b_total', 'up']],
    ['sum(rate(a_total[5m])) by (outcome) or vector(0)', ['a_total']],
  ])('%s', (expr, names) => {
    expect(metricNamesIn(expr).sort()).toEqual([...names].sort());
  });
});

describe('the alerts and the dashboard under deploy/', () => {
  const metrics = new MetricsService().registry.getMetricsAsArray();
  const registered = new Set(metrics.map((metric) => metric.name));
  const withSamplesSuffixes = new Set(
    metrics.filter((metric) => metric instanceof Histogram || metric instanceof Summary).map((metric) => metric.name),
  );
  /** Names in `expr` the service does not expose: neither a registered metric nor a histogram's sample series. */
  const unknownMetricsIn = (expr: string) =>
    metricNamesIn(expr).filter((name) => {
      if (registered.has(name) || PROMETHEUS_SERIES.has(name)) return false;
      const base = name.replace(/_(bucket|sum|count)$/, '');
      return !(base !== name && withSamplesSuffixes.has(base));
    });
  const dashboardExprs = dashboardPanels(dashboard.panels).flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: target.expr })),
  );

  it('alert only on metrics the service registers', () => {
    expect(alertRules.length).toBeGreaterThan(0);
    for (const rule of alertRules) {
      expect({ alert: rule.alert, names: metricNamesIn(rule.expr).length > 0 }).toEqual({
        alert: rule.alert,
        names: true,
      });
      expect({ alert: rule.alert, unknown: unknownMetricsIn(rule.expr) }).toEqual({ alert: rule.alert, unknown: [] });
    }
  });

  it('chart only metrics the service registers', () => {
    expect(dashboardExprs.length).toBeGreaterThan(0);
    for (const { panel, expr } of dashboardExprs) {
      expect({ panel, names: metricNamesIn(expr).length > 0 }).toEqual({ panel, names: true });
      expect({ panel, unknown: unknownMetricsIn(expr) }).toEqual({ panel, unknown: [] });
    }
  });

  it('give every alert a severity, a summary, a description and a runbook section in docs/operations.md', () => {
    const anchors = new Set(
      read('docs/operations.md')
        .split('\n')
        .filter((line) => /^#{1,6} /.test(line))
        .map((line) => `docs/operations.md#${anchorOf(line.replace(/^#+ /, ''))}`),
    );
    for (const rule of alertRules) {
      const { severity } = rule.labels ?? {};
      const { summary, description, runbook } = rule.annotations ?? {};
      expect({
        alert: rule.alert,
        severity: ['critical', 'warning'].includes(severity ?? ''),
        summary: Boolean(summary),
        description: Boolean(description),
        runbook: anchors.has(runbook ?? ''),
      }).toEqual({ alert: rule.alert, severity: true, summary: true, description: true, runbook: true });
    }
  });

  it('test every alert in alerts.test.yml with series that fire it and series that do not', () => {
    const cases = ruleTests.flatMap((test) => test.alert_rule_test ?? []);
    for (const { alert } of alertRules) {
      const own = cases.filter((testCase) => testCase.alertname === alert);
      expect({
        alert,
        fires: own.some((testCase) => (testCase.exp_alerts ?? []).length > 0),
        staysQuiet: own.some((testCase) => (testCase.exp_alerts ?? []).length === 0),
      }).toEqual({ alert, fires: true, staysQuiet: true });
    }
  });

  it('query through the ${datasource} variable and link nowhere outside', () => {
    expect(dashboard.templating.list).toContainEqual(
      expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }),
    );
    for (const panel of dashboardPanels(dashboard.panels).filter((candidate) => candidate.targets !== undefined)) {
      const sources = [panel.datasource, ...(panel.targets ?? []).map((target) => target.datasource)];
      expect({ panel: panel.title, sources }).toEqual({
        panel: panel.title,
        sources: sources.map(() => ({ type: 'prometheus', uid: '${datasource}' })),
      });
    }
    expect(dashboard.links).toEqual([]);
    expect(dashboardText).not.toMatch(/https?:\/\//);
  });
});
