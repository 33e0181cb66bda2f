/* Local preview of a QuickSight dashboard definition (bcr report).
 *
 * The page description (JSON in #report-data) holds small pre-aggregated cubes and, per visual, the
 * expressions that regroup them. Filters, controls and parameters only change which cube rows count, so
 * everything here is grouping, combining partial aggregates and drawing SVG. All text from the data goes
 * through textContent: tag values are caller-supplied and untrusted.
 */
(function () {
  'use strict';

  const R = JSON.parse(document.getElementById('report-data').textContent);
  const SVG = 'http://www.w3.org/2000/svg';
  const PALETTE = ['#2f6fdf', '#f28e2b', '#2ca58d', '#e15759', '#8f63c9', '#76b7b2', '#edc948', '#b07aa1',
    '#ff9da7', '#9c755f', '#4e79a7', '#59a14f'];
  const GRAN = ['YEAR', 'QUARTER', 'MONTH', 'WEEK', 'DAY', 'HOUR', 'MINUTE', 'SECOND', 'MILLISECOND'];
  const OTHER = '\u0000other';
  const state = { params: {}, filters: {}, sheet: null, rendered: new Set() };
  const results = {};
  window.__bcrReport = { results: results, ready: false, renderMs: null };  // read by the browser test

  // ---- values ----------------------------------------------------------------------------------

  const decoded = R.cubes.map(function (cube) {
    const columns = {};
    Object.keys(cube.columns).forEach(function (key) {
      const dictionary = R.dictionaries[key];
      columns[key] = dictionary ? cube.columns[key].map(function (i) { return dictionary[i]; }) : cube.columns[key];
    });
    return { rows: cube.rows, columns: columns };
  });

  function isNull(v) { return v === null || v === undefined || (typeof v === 'number' && isNaN(v)); }
  function pad(n, w) { return String(n).padStart(w || 2, '0'); }
  function toMs(iso) {
    return Date.UTC(+iso.slice(0, 4), +iso.slice(5, 7) - 1, +iso.slice(8, 10), +iso.slice(11, 13) || 0,
      +iso.slice(14, 16) || 0, +iso.slice(17, 19) || 0);
  }
  function fromMs(ms) {
    const d = new Date(ms);
    return d.getUTCFullYear() + '-' + pad(d.getUTCMonth() + 1) + '-' + pad(d.getUTCDate()) + 'T' +
      pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes()) + ':' + pad(d.getUTCSeconds());
  }
  function gran(code) {
    const map = { YYYY: 'YEAR', Q: 'QUARTER', MM: 'MONTH', WK: 'WEEK', DD: 'DAY', HH: 'HOUR', MI: 'MINUTE', SS: 'SECOND', SECONDS: 'SECOND' };
    return map[code] || code;
  }
  function trunc(iso, g) {
    if (isNull(iso)) return iso;
    const d = new Date(toMs(iso));
    const y = d.getUTCFullYear(), m = d.getUTCMonth();
    switch (gran(g)) {
      case 'YEAR': return y + '-01-01T00:00:00';
      case 'QUARTER': return fromMs(Date.UTC(y, m - (m % 3), 1));
      case 'MONTH': return fromMs(Date.UTC(y, m, 1));
      case 'WEEK': {
        const start = ['SUNDAY', 'MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY'].indexOf(R.weekStart);
        const back = (d.getUTCDay() - Math.max(start, 0) + 7) % 7;
        return fromMs(Date.UTC(y, m, d.getUTCDate() - back));
      }
      case 'DAY': return iso.slice(0, 10) + 'T00:00:00';
      case 'HOUR': return iso.slice(0, 13) + ':00:00';
      case 'MINUTE': return iso.slice(0, 16) + ':00';
      default: return iso;
    }
  }
  function addPeriod(iso, g, n) {
    const d = new Date(toMs(iso));
    switch (gran(g)) {
      case 'YEAR': d.setUTCFullYear(d.getUTCFullYear() + n); break;
      case 'QUARTER': d.setUTCMonth(d.getUTCMonth() + 3 * n); break;
      case 'MONTH': d.setUTCMonth(d.getUTCMonth() + n); break;
      case 'WEEK': d.setUTCDate(d.getUTCDate() + 7 * n); break;
      case 'DAY': d.setUTCDate(d.getUTCDate() + n); break;
      case 'HOUR': d.setUTCHours(d.getUTCHours() + n); break;
      case 'MINUTE': d.setUTCMinutes(d.getUTCMinutes() + n); break;
      default: d.setUTCSeconds(d.getUTCSeconds() + n);
    }
    return fromMs(d.getTime());
  }
  function periodsBetween(a, b, g) {
    const da = new Date(toMs(a)), db = new Date(toMs(b));
    const months = (db.getUTCFullYear() - da.getUTCFullYear()) * 12 + db.getUTCMonth() - da.getUTCMonth();
    const ms = toMs(b) - toMs(a);
    switch (gran(g)) {
      case 'YEAR': return db.getUTCFullYear() - da.getUTCFullYear();
      case 'QUARTER': return Math.floor(months / 3);
      case 'MONTH': return months;
      case 'WEEK': return Math.floor(ms / 604800000);
      case 'HOUR': return Math.floor(ms / 3600000);
      case 'MINUTE': return Math.floor(ms / 60000);
      case 'SECOND': return Math.floor(ms / 1000);
      default: return Math.round((toMs(trunc(b, 'DAY')) - toMs(trunc(a, 'DAY'))) / 86400000);
    }
  }
  function compare(a, b) {
    if (isNull(a)) return isNull(b) ? 0 : 1;
    if (isNull(b)) return -1;
    if (typeof a === 'number' && typeof b === 'number') return a - b;
    return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
  }

  // ---- expressions -----------------------------------------------------------------------------

  function num(v) { return isNull(v) ? null : Number(v); }
  const SCALARS = {
    ifelse: function (a, ctx) {
      for (let i = 0; i + 1 < a.length; i += 2) if (ev(a[i], ctx)) return ev(a[i + 1], ctx);
      return ev(a[a.length - 1], ctx);
    },
    switch: function (a, ctx) {
      const value = ev(a[0], ctx);
      for (let i = 1; i + 1 < a.length; i += 2) if (ev(a[i], ctx) === value) return ev(a[i + 1], ctx);
      return ev(a[a.length - 1], ctx);
    },
    coalesce: function (a, ctx) {
      for (let i = 0; i < a.length; i++) { const v = ev(a[i], ctx); if (!isNull(v)) return v; }
      return null;
    },
  };
  const PLAIN = {
    isNull: function (v) { return isNull(v); },
    isNotNull: function (v) { return !isNull(v); },
    nullIf: function (a, b) { return a === b ? null : a; },
    concat: function () { return Array.prototype.map.call(arguments, function (v) { return isNull(v) ? '' : String(v); }).join(''); },
    toString: function (v) { return isNull(v) ? null : String(v); },
    toLower: function (v) { return isNull(v) ? null : String(v).toLowerCase(); },
    toUpper: function (v) { return isNull(v) ? null : String(v).toUpperCase(); },
    trim: function (v) { return isNull(v) ? null : String(v).trim(); },
    ltrim: function (v) { return isNull(v) ? null : String(v).replace(/^\s+/, ''); },
    rtrim: function (v) { return isNull(v) ? null : String(v).replace(/\s+$/, ''); },
    left: function (v, n) { return isNull(v) ? null : String(v).slice(0, n); },
    right: function (v, n) { return isNull(v) ? null : String(v).slice(Math.max(0, String(v).length - n)); },
    substring: function (v, s, n) { return isNull(v) ? null : String(v).substr(s - 1, n); },
    strlen: function (v) { return isNull(v) ? null : String(v).length; },
    replace: function (v, a, b) { return isNull(v) ? null : String(v).split(a).join(b); },
    split: function (v, d, i) { return isNull(v) ? null : (String(v).split(d)[i - 1] || ''); },
    contains: function (v, s, mode) {
      if (isNull(v)) return null;
      return mode === 'CASE_INSENSITIVE' ? String(v).toLowerCase().includes(String(s).toLowerCase()) : String(v).includes(s);
    },
    startsWith: function (v, s) { return isNull(v) ? null : String(v).startsWith(s); },
    endsWith: function (v, s) { return isNull(v) ? null : String(v).endsWith(s); },
    in: function (v, list) { return [].concat(list).indexOf(v) >= 0; },
    notIn: function (v, list) { return [].concat(list).indexOf(v) < 0; },
    abs: function (v) { return isNull(v) ? null : Math.abs(v); },
    ceil: function (v) { return isNull(v) ? null : Math.ceil(v); },
    floor: function (v) { return isNull(v) ? null : Math.floor(v); },
    round: function (v, d) { if (isNull(v)) return null; const f = Math.pow(10, d || 0); return Math.round(v * f) / f; },
    sqrt: function (v) { return isNull(v) ? null : Math.sqrt(v); },
    exp: function (v) { return isNull(v) ? null : Math.exp(v); },
    ln: function (v) { return isNull(v) ? null : Math.log(v); },
    log: function (v) { return isNull(v) ? null : Math.log10(v); },
    mod: function (a, b) { return isNull(a) || isNull(b) ? null : a % b; },
    parseInt: function (v) { const n = parseInt(v, 10); return isNaN(n) ? null : n; },
    parseDecimal: function (v) { const n = parseFloat(v); return isNaN(n) ? null : n; },
    intToDecimal: function (v) { return num(v); },
    decimalToInt: function (v) { return isNull(v) ? null : Math.trunc(v); },
    now: function () { return R.asOf; },
    truncDate: function (p, d) { return trunc(d, p); },
    dateDiff: function (a, b, p) { return isNull(a) || isNull(b) ? null : periodsBetween(a, b, p || 'DD'); },
    addDateTime: function (n, p, d) { return isNull(d) ? null : addPeriod(d, p, n); },
    extract: function (p, d) {
      if (isNull(d)) return null;
      const t = new Date(toMs(d));
      switch (p) {
        case 'YYYY': return t.getUTCFullYear();
        case 'Q': return Math.floor(t.getUTCMonth() / 3) + 1;
        case 'MM': return t.getUTCMonth() + 1;
        case 'DD': return t.getUTCDate();
        case 'WD': return t.getUTCDay() + 1;
        case 'HH': return t.getUTCHours();
        case 'MI': return t.getUTCMinutes();
        default: return t.getUTCSeconds();
      }
    },
  };
  function op(o, a, b) {
    if (o === 'and') return Boolean(a) && Boolean(b);
    if (o === 'or') return Boolean(a) || Boolean(b);
    if (o === 'not') return isNull(a) ? null : !a;
    if (o === 'neg') return isNull(a) ? null : -a;
    if (isNull(a) || isNull(b)) return null;
    switch (o) {
      case '+': return a + b;
      case '-': return a - b;
      case '*': return a * b;
      case '/': return b === 0 ? null : a / b;
      case '%': return a % b;
      case '^': return Math.pow(a, b);
      case '=': return compare(a, b) === 0;
      case '<>': return compare(a, b) !== 0;
      case '<': return compare(a, b) < 0;
      case '>': return compare(a, b) > 0;
      case '<=': return compare(a, b) <= 0;
      default: return compare(a, b) >= 0;
    }
  }

  // ctx: {cube (decoded), row, dims (values of the visual's dimensions), atoms, groups, gi, memo}
  function ev(node, ctx) {
    switch (node[0]) {
      case 'n': case 's': case 'k': return node[1];
      case 'null': return null;
      case 'p': return state.params[node[1]];
      case 'g': return ctx.cube.columns[node[1]][ctx.row];
      case 'dim': return ctx.dims ? ctx.dims[node[1]] : null;
      case 'a': return ctx.atoms[node[1]];
      case 'list': return node[1].map(function (item) { return ev(item, ctx); });
      case 'op': {
        if (node[1] === 'and') return Boolean(ev(node[2], ctx)) && Boolean(ev(node[3], ctx));
        if (node[1] === 'or') return Boolean(ev(node[2], ctx)) || Boolean(ev(node[3], ctx));
        return op(node[1], ev(node[2], ctx), node.length > 3 ? ev(node[3], ctx) : undefined);
      }
      case 'f': {
        if (SCALARS[node[1]]) return SCALARS[node[1]](node[2], ctx);
        return PLAIN[node[1]].apply(null, node[2].map(function (a) { return ev(a, ctx); }));
      }
      case 'w': return windowValue(node, ctx);
      default: throw new Error('unknown expression node ' + node[0]);
    }
  }

  function windowValue(node, ctx) {
    if (!ctx.groups) return null;
    if (!ctx.memo.has(node)) ctx.memo.set(node, computeWindow(node[1], node[2], ctx));
    return ctx.memo.get(node)[ctx.gi];
  }
  function partitionKey(group, part) { return JSON.stringify(part.map(function (i) { return group.dims[i]; })); }
  function computeWindow(name, spec, ctx) {
    const groups = ctx.groups;
    const at = function (expr, j) { return ev(expr, Object.assign({}, ctx, { gi: j, dims: groups[j].dims, atoms: groups[j].atoms })); };
    const values = spec.m ? groups.map(function (_, j) { return at(spec.m, j); }) : [];
    const byPartition = {};
    groups.forEach(function (g, j) { const k = partitionKey(g, spec.part || []); (byPartition[k] = byPartition[k] || []).push(j); });
    const out = new Array(groups.length).fill(null);
    const members = function (j) { return byPartition[partitionKey(groups[j], spec.part || [])]; };
    const ordered = function (list) {
      return list.slice().sort(function (x, y) {
        for (const [expr, dir] of spec.order || []) {
          const c = compare(at(expr, x), at(expr, y));
          if (c) return dir === 'DESC' ? -c : c;
        }
        return x - y;
      });
    };
    if (['sumOver', 'avgOver', 'countOver', 'minOver', 'maxOver', 'percentOfTotal'].indexOf(name) >= 0) {
      groups.forEach(function (_, j) {
        const vs = members(j).map(function (i) { return values[i]; }).filter(function (v) { return !isNull(v); });
        const sum = vs.reduce(function (s, v) { return s + v; }, 0);
        out[j] = name === 'sumOver' ? sum : name === 'avgOver' ? (vs.length ? sum / vs.length : null)
          : name === 'countOver' ? vs.length : name === 'minOver' ? Math.min.apply(null, vs)
            : name === 'maxOver' ? Math.max.apply(null, vs) : (sum && !isNull(values[j]) ? values[j] / sum * 100 : null);
      });
    } else if (name === 'runningSum') {
      Object.values(byPartition).forEach(function (list) {
        let running = 0;
        ordered(list).forEach(function (j) { running += values[j] || 0; out[j] = running; });
      });
    } else if (name === 'rank' || name === 'denseRank') {
      Object.values(byPartition).forEach(function (list) {
        const sorted = ordered(list);
        let rank = 0, dense = 0, previous;
        sorted.forEach(function (j, position) {
          const key = JSON.stringify((spec.order || []).map(function (o) { return at(o[0], j); }));
          if (key !== previous) { rank = position + 1; dense += 1; previous = key; }
          out[j] = name === 'rank' ? rank : dense;
        });
      });
    } else {  // periodOverPeriod*
      const dateIndex = spec.date;
      const period = spec.period || ctx.dateGran || 'DAY';
      const lookup = {};
      groups.forEach(function (g, j) {
        const key = JSON.stringify(g.dims.map(function (v, i) { return i === dateIndex ? trunc(v, period) : v; }));
        lookup[key] = j;
      });
      groups.forEach(function (g, j) {
        const key = JSON.stringify(g.dims.map(function (v, i) { return i === dateIndex ? addPeriod(trunc(v, period), period, -spec.offset) : v; }));
        const previous = key in lookup ? values[lookup[key]] : null;
        const current = values[j];
        if (name === 'periodOverPeriodLastValue') out[j] = previous;
        else if (isNull(previous) || isNull(current)) out[j] = null;
        else if (name === 'periodOverPeriodDifference') out[j] = current - previous;
        else out[j] = previous === 0 ? null : (current - previous) / previous;
      });
    }
    return out;
  }

  // ---- partial aggregates (atoms) --------------------------------------------------------------

  // percentileCont interpolates between the values at ranks floor and ceil of p·(n−1); percentileDisc is the
  // first value whose cumulative share reaches p. The same definitions as DuckDB's quantile_cont/_disc.
  function percentile(counts, p, mode) {
    const values = Array.from(counts.keys()).sort(function (a, b) { return a - b; });
    let n = 0;
    for (const v of values) n += counts.get(v);
    if (!n) return null;
    function at(rank) {  // the value at a 0-based rank
      let seen = 0;
      for (const v of values) { seen += counts.get(v); if (rank < seen) return v; }
      return values[values.length - 1];
    }
    if (mode === 'disc') return at(Math.max(0, Math.ceil(p * n) - 1));
    const h = p * (n - 1), low = Math.floor(h), lower = at(low);
    return h === low ? lower : lower + (h - low) * (at(low + 1) - lower);
  }

  function accumulator(plan, cube) {
    switch (plan[0]) {
      case 'c': {
        const column = cube.columns[plan[1]], how = plan[2];
        let acc = null;
        return {
          add: function (i) {
            const v = column[i];
            if (isNull(v)) return;
            if (acc === null) acc = v;
            else if (how === 'sum') acc += v;
            else if (how === 'min') { if (compare(v, acc) < 0) acc = v; }
            else if (compare(v, acc) > 0) acc = v;
          },
          value: function () { return acc; },
        };
      }
      case 'q': {
        // An exact percentile: merge the [value, count] pairs of every row, then read the rank.
        const column = cube.columns[plan[1]], counts = new Map();
        return {
          add: function (i) {
            for (const [v, n] of column[i] || []) counts.set(v, (counts.get(v) || 0) + n);
          },
          value: function () { return percentile(counts, plan[2], plan[3]); },
        };
      }
      case 'd': {
        const column = cube.columns[plan[1]], seen = new Set();
        return { add: function (i) { if (!isNull(column[i])) seen.add(column[i]); }, value: function () { return seen.size; } };
      }
      case 'ratio': {
        const a = accumulator(plan[1], cube), b = accumulator(plan[2], cube);
        return {
          add: function (i) { a.add(i); b.add(i); },
          value: function () { const d = b.value(); return d ? a.value() / d : null; },
        };
      }
      case 'var': {
        const s = accumulator(plan[1], cube), ss = accumulator(plan[2], cube), n = accumulator(plan[3], cube);
        return {
          add: function (i) { s.add(i); ss.add(i); n.add(i); },
          value: function () {
            const count = n.value(), sum = s.value(), squares = ss.value();
            const denominator = plan[4] ? count - 1 : count;
            if (!count || denominator <= 0) return null;
            const variance = Math.max(0, (squares - sum * sum / count) / denominator);
            return plan[5] ? Math.sqrt(variance) : variance;
          },
        };
      }
      case 'when': {
        const inner = accumulator(plan[2], cube);
        return {
          add: function (i) { if (ev(plan[1], { cube: cube, row: i })) inner.add(i); },
          value: function () { return inner.value(); },
        };
      }
      case 'case': {
        const branches = plan[1].map(function (b) { return [b[0], accumulator(b[1], cube)]; });
        const otherwise = accumulator(plan[2], cube);
        const parts = branches.map(function (b) { return b[1]; }).concat([otherwise]);
        return {
          add: function (i) {
            for (const [condition, acc] of branches) if (ev(condition, { cube: cube, row: i })) { acc.add(i); return; }
            otherwise.add(i);
          },
          value: function () {
            const vs = parts.map(function (p) { return p.value(); }).filter(function (v) { return !isNull(v); });
            if (!vs.length) return null;
            const how = plan[2][0] === 'c' ? plan[2][2] : 'sum';
            return vs.reduce(function (a, b) { return how === 'min' ? (compare(b, a) < 0 ? b : a) : how === 'max' ? (compare(b, a) > 0 ? b : a) : a + b; });
          },
        };
      }
      default: throw new Error('unknown aggregate plan ' + plan[0]);
    }
  }

  // ---- filters ---------------------------------------------------------------------------------

  function param(name) { return name ? state.params[name] : undefined; }
  function relativeBounds(config, s) {
    const g = s.gran || config.gran || 'DAY';
    const anchor = (config.anchorParam && param(config.anchorParam)) || R.asOf;
    const start = trunc(anchor, g);
    const n = Math.max(1, Number(s.n) || 1);
    switch (s.type) {
      case 'LAST': return [addPeriod(start, g, -(n - 1)), anchor];
      case 'PREVIOUS': return [addPeriod(start, g, -n), addPeriod(start, g, 0), true];
      case 'NEXT': return [anchor, addPeriod(start, g, n + 1), true];
      default: return [start, addPeriod(start, g, 1), true];  // THIS, NOW
    }
  }
  function filterPasses(id, value) {
    const config = R.filters[id], s = state.filters[id];
    if (isNull(value)) return (s.nulls || config.nulls) !== 'NON_NULLS_ONLY';
    if ((s.nulls || config.nulls) === 'NULLS_ONLY') return false;
    switch (config.kind) {
      case 'category': {
        let values = s.values;
        if (config.param) {
          const p = param(config.param);
          values = isNull(p) || (Array.isArray(p) && !p.length) ? null : [].concat(p);
        }
        if (values === null || values === undefined) return true;
        const text = String(value);
        switch (config.op) {
          case 'DOES_NOT_EQUAL': return values.indexOf(value) < 0;
          case 'CONTAINS': return values.some(function (v) { return text.includes(v); });
          case 'DOES_NOT_CONTAIN': return !values.some(function (v) { return text.includes(v); });
          case 'STARTS_WITH': return values.some(function (v) { return text.startsWith(v); });
          case 'ENDS_WITH': return values.some(function (v) { return text.endsWith(v); });
          default: return values.indexOf(value) >= 0;
        }
      }
      case 'numericRange': {
        if (config.all && s.min === null && s.max === null) return true;
        const min = config.minParam ? param(config.minParam) : s.min, max = config.maxParam ? param(config.maxParam) : s.max;
        if (!isNull(min) && (config.incMin ? value < min : value <= min)) return false;
        return isNull(max) || (config.incMax ? value <= max : value < max);
      }
      case 'numericEquality': {
        const target = config.param ? param(config.param) : s.value;
        if (isNull(target)) return true;
        return config.op === 'DOES_NOT_EQUAL' ? value !== Number(target) : value === Number(target);
      }
      case 'timeRange': {
        const g = config.gran || 'DAY';
        const min = config.minParam ? param(config.minParam) : s.min, max = config.maxParam ? param(config.maxParam) : s.max;
        const v = trunc(value, g);
        if (!isNull(min) && (config.incMin === false ? v <= trunc(min, g) : v < trunc(min, g))) return false;
        return isNull(max) || (config.incMax === false ? v < trunc(max, g) : v <= trunc(max, g));
      }
      case 'relativeDates': {
        const bounds = relativeBounds(config, s);
        return value >= bounds[0] && (bounds[2] ? value < bounds[1] : value <= bounds[1]);
      }
      case 'timeEquality': {
        const target = config.param ? param(config.param) : s.value;
        return isNull(target) || trunc(value, config.gran || 'DAY') === trunc(target, config.gran || 'DAY');
      }
      default: return true;
    }
  }

  // ---- grouping --------------------------------------------------------------------------------

  function dimValue(dim, cube, row) {
    const v = ev(dim.x, { cube: cube, row: row });
    return dim.kind === 'date' && dim.gran && !isNull(v) ? trunc(v, dim.gran) : v;
  }
  function passingRows(v) {
    const cube = decoded[v.cube];
    const rows = [];
    for (let i = 0; i < cube.rows; i++) {
      let ok = true;
      for (const f of v.filters) { if (!filterPasses(f.id, ev(f.x, { cube: cube, row: i }))) { ok = false; break; } }
      if (ok) rows.push(i);
    }
    return rows;
  }
  // Groups the passing rows by the chosen dimensions (indexes into allDims); `keep` maps a dimension
  // index to the set of values kept, the rest becoming "Other".
  function group(v, rows, dimIndexes, keep) {
    const cube = decoded[v.cube], all = v.allDims;
    const groups = new Map();
    for (const i of rows) {
      const dims = all.map(function (d, j) {
        if (dimIndexes.indexOf(j) < 0) return undefined;
        const value = dimValue(d, cube, i);
        return keep && keep[j] && !keep[j].has(value) ? OTHER : value;
      });
      const key = JSON.stringify(dims);
      let g = groups.get(key);
      if (!g) { g = { dims: dims, accs: v.atoms.map(function (p) { return accumulator(p, cube); }) }; groups.set(key, g); }
      for (const acc of g.accs) acc.add(i);
    }
    const list = Array.from(groups.values());
    list.forEach(function (g) { g.atoms = g.accs.map(function (a) { return a.value(); }); });
    if (!list.length && !dimIndexes.length) list.push({ dims: all.map(function () { return undefined; }), atoms: v.atoms.map(function () { return null; }) });
    const memo = new Map();
    const dateDim = all.find(function (d) { return d.kind === 'date' && d.gran; });
    list.forEach(function (g, gi) {
      g.m = {};
      for (const m of v.measures) {
        g.m[m.id] = ev(m.x, { cube: cube, dims: g.dims, atoms: g.atoms, groups: list, gi: gi, memo: memo, dateGran: dateDim && dateDim.gran });
      }
    });
    return list;
  }
  function fieldValue(v, g, id) {
    const d = v.allDims.findIndex(function (x) { return x.id === id; });
    return d >= 0 ? g.dims[d] : g.m[id];
  }
  function sortGroups(v, list, sorts, fallbackDims) {
    const rules = (sorts && sorts.length) ? sorts : defaultSort(v, fallbackDims);
    return list.sort(function (a, b) {
      for (const r of rules) {
        const x = fieldValue(v, a, r.field), y = fieldValue(v, b, r.field);
        if (x === OTHER || y === OTHER) return x === OTHER ? 1 : -1;
        if (isNull(x) !== isNull(y)) return isNull(x) ? 1 : -1;  // nulls last in either direction
        const c = compare(x, y);
        if (c) return r.dir === 'DESC' ? -c : c;
      }
      return 0;
    });
  }
  function defaultSort(v, dims) {
    const first = dims.map(function (i) { return v.allDims[i]; })[0];
    if (first && first.kind === 'date') return [{ field: first.id, dir: 'ASC' }];
    const measure = v.measures.find(function (m) { return !m.hidden; });
    return measure ? [{ field: measure.id, dir: 'DESC' }] : (first ? [{ field: first.id, dir: 'ASC' }] : []);
  }
  function topValues(v, rows, dimIndex, limit, sorts) {
    if (!limit || !limit.n) return null;
    const ranked = sortGroups(v, group(v, rows, [dimIndex]), sorts, [dimIndex]);
    if (ranked.length <= limit.n) return null;
    return { keep: new Set(ranked.slice(0, limit.n).map(function (g) { return g.dims[dimIndex]; })), other: limit.other !== 'EXCLUDE' };
  }

  // ---- formatting ------------------------------------------------------------------------------

  const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
  const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
  function formatDate(iso, pattern, g) {
    if (isNull(iso)) return '';
    const d = new Date(toMs(iso));
    const defaults = { YEAR: 'YYYY', QUARTER: 'YYYY [Q]Q', MONTH: 'MMM YYYY', HOUR: 'MMM D, HH:00', MINUTE: 'MMM D, HH:mm' };
    const p = pattern || defaults[g] || 'MMM D, YYYY';
    const h = d.getUTCHours();
    const tokens = {
      YYYY: d.getUTCFullYear(), YY: pad(d.getUTCFullYear() % 100), Q: Math.floor(d.getUTCMonth() / 3) + 1,
      MMMM: MONTHS[d.getUTCMonth()], MMM: MONTHS[d.getUTCMonth()].slice(0, 3), MM: pad(d.getUTCMonth() + 1), M: d.getUTCMonth() + 1,
      DD: pad(d.getUTCDate()), D: d.getUTCDate(), dddd: DAYS[d.getUTCDay()], ddd: DAYS[d.getUTCDay()].slice(0, 3),
      HH: pad(h), H: h, hh: pad(h % 12 || 12), h: h % 12 || 12, mm: pad(d.getUTCMinutes()), ss: pad(d.getUTCSeconds()),
      A: h < 12 ? 'AM' : 'PM', a: h < 12 ? 'am' : 'pm',
    };
    return p.replace(/\[([^\]]*)\]|YYYY|YY|MMMM|MMM|MM|M|DD|D|dddd|ddd|HH|H|hh|h|mm|ss|A|a|Q/g, function (t, literal) {
      return literal !== undefined ? literal : String(tokens[t]);
    });
  }
  const SYMBOLS = { USD: '$', EUR: '€', GBP: '£', JPY: '¥', INR: '₹' };
  const SCALES = [[1e12, 'T', 'TRILLIONS'], [1e9, 'B', 'BILLIONS'], [1e6, 'M', 'MILLIONS'], [1e3, 'K', 'THOUSANDS']];
  function autoDecimals(x) {
    const a = Math.abs(x);
    if (a === 0 || a >= 100 || Number.isInteger(x)) return a >= 100 || Number.isInteger(x) ? 0 : 2;
    return a >= 1 ? 2 : Math.min(8, Math.max(2, 1 - Math.floor(Math.log10(a)) + 1));
  }
  function formatNumber(value, spec, compact) {
    spec = spec || {};
    if (isNull(value)) return spec.null !== undefined && spec.null !== null ? spec.null : '—';
    if (spec.kind === 'date') return formatDate(value, spec.pattern);
    if (typeof value === 'string') return value;
    let x = spec.kind === 'percent' ? value * 100 : value;
    let unit = '';
    const scale = compact && (!spec.scale || spec.scale === 'NONE') ? 'AUTO' : spec.scale;
    for (const [size, letter, name] of SCALES) {
      if ((scale === 'AUTO' && Math.abs(x) >= size) || scale === name) { x = x / size; unit = letter; break; }
    }
    let decimals = spec.decimals;
    if (decimals === undefined || decimals === null || (compact && unit)) decimals = unit ? (Math.abs(x) >= 100 ? 0 : 1) : autoDecimals(x);
    const body = Math.abs(x).toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals, useGrouping: spec.thousands !== false });
    const symbol = spec.kind === 'currency' ? (SYMBOLS[spec.symbol] || (spec.symbol || '') + ' ') : '';
    const sign = x < 0 ? '-' : '';
    return sign + (spec.prefix || '') + symbol + body + unit + (spec.kind === 'percent' ? '%' : '') + (spec.suffix || '');
  }
  function formatDim(dim, value) {
    if (value === OTHER) return 'Other';
    if (isNull(value)) return 'null';
    if (dim.kind === 'date') return formatDate(value, dim.fmt && dim.fmt.pattern, dim.gran);
    if (dim.kind === 'number') return formatNumber(value, dim.fmt);
    return String(value);
  }

  // ---- drawing helpers -------------------------------------------------------------------------

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }
  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }
  function tip(node, text) { node.appendChild(svg('title', {}, text)); return node; }
  function short(text, n) { text = String(text); return text.length > n ? text.slice(0, n - 1) + '…' : text; }
  function niceTicks(min, max, count) {
    if (min === max) { max = min + 1; }
    const step0 = (max - min) / count, mag = Math.pow(10, Math.floor(Math.log10(step0)));
    const step = [1, 2, 2.5, 5, 10].map(function (f) { return f * mag; }).find(function (s) { return s >= step0; });
    const ticks = [], first = Math.floor(min / step), last = Math.ceil(max / step - 1e-9);
    for (let k = first; k <= last; k++) ticks.push(+(k * step).toFixed(12));
    return ticks;
  }
  function legend(host, items) {
    const box = el('div', { class: 'legend' });
    items.forEach(function (item) {
      const entry = el('span', { class: 'legend-item' });
      entry.appendChild(el('i', { style: 'background:' + item.color }));
      entry.appendChild(document.createTextNode(item.label));
      box.appendChild(entry);
    });
    host.appendChild(box);
  }
  function size(body) { return { w: Math.max(body.clientWidth, 240), h: Math.max(body.clientHeight, 140) }; }
  function mark(card, status, points) { card.dataset.state = status; card.dataset.points = points; }

  // ---- visuals ---------------------------------------------------------------------------------

  function measuresOf(v, role) { return (v.roles[role] || []).filter(function (m) { return !m.hidden; }); }

  function renderKPI(v, card, body) {
    const rows = passingRows(v);
    const value = measuresOf(v, 'values')[0], target = measuresOf(v, 'targets')[0];
    const trend = (v.roles.trend || [])[0];
    let primary, previous = null, previousLabel = null, series = [];
    if (trend) {
      const list = sortGroups(v, group(v, rows, [v.allDims.indexOf(trend)]), v.sort, [0]);
      series = list.map(function (g) { return [g.dims[v.allDims.indexOf(trend)], g.m[value.id]]; });
      primary = series.length ? series[series.length - 1][1] : null;
      if (series.length > 1) { previous = series[series.length - 2][1]; previousLabel = formatDim(trend, series[series.length - 2][0]); }
    } else {
      primary = group(v, rows, [])[0].m[value.id];
    }
    if (target) { previous = group(v, rows, [])[0].m[target.id]; previousLabel = 'target'; }
    results[v.id] = { value: primary, previous: previous, series: series, rows: rows.length };
    card.dataset.value = isNull(primary) ? '' : primary;
    const box = el('div', { class: 'kpi' });
    let comparison = null;
    if (!isNull(previous) && !isNull(primary)) {
      comparison = v.comparison === 'DIFFERENCE' ? primary - previous
        : v.comparison === 'PERCENT' ? (previous ? primary / previous : null)
          : (previous ? (primary - previous) / Math.abs(previous) : null);
    }
    const comparisonText = isNull(comparison) ? null : v.comparison === 'DIFFERENCE'
      ? (comparison >= 0 ? '+' : '') + formatNumber(comparison, value.fmt)
      : formatNumber(comparison, { kind: 'percent', decimals: 1 });
    if (v.primary !== 'HIDDEN') {
      const main = v.primary === 'COMPARISON' && comparisonText ? comparisonText : formatNumber(primary, value.fmt);
      box.appendChild(el('div', { class: 'kpi-value' }, main));
    }
    if (comparisonText) {
      const up = comparison > (v.comparison === 'PERCENT' ? 1 : 0);
      box.appendChild(el('div', { class: 'kpi-compare ' + (up ? 'up' : 'down') }, (up ? '▲ ' : '▼ ') + comparisonText + ' vs ' + previousLabel));
    }
    if (trend && series.length) box.appendChild(el('div', { class: 'kpi-period' }, formatDim(trend, series[series.length - 1][0])));
    body.appendChild(box);
    if (v.sparkline && series.length > 1) {
      const w = 200, h = 36;
      const ys = series.map(function (p) { return p[1] || 0; });
      const lo = Math.min.apply(null, ys.concat([0])), hi = Math.max.apply(null, ys) || 1;
      const pts = ys.map(function (y, i) { return [i / (ys.length - 1) * w, h - (y - lo) / (hi - lo || 1) * h]; });
      const chart = svg('svg', { class: 'sparkline', viewBox: '0 0 ' + w + ' ' + h, preserveAspectRatio: 'none' });
      const path = pts.map(function (p, i) { return (i ? 'L' : 'M') + p[0].toFixed(1) + ',' + p[1].toFixed(1); }).join('');
      if (v.sparkline === 'AREA') chart.appendChild(svg('path', { d: path + 'L' + w + ',' + h + 'L0,' + h + 'Z', class: 'spark-area' }));
      chart.appendChild(svg('path', { d: path, class: 'spark-line' }));
      body.appendChild(chart);
    }
    mark(card, isNull(primary) ? 'empty' : 'rendered', isNull(primary) ? 0 : 1);
  }

  // Category × series matrix for bar, line and pie charts.
  function chartData(v) {
    const rows = passingRows(v);
    const category = (v.roles.category || [])[0], color = (v.roles.colors || [])[0];
    const ci = v.allDims.indexOf(category), oi = color ? v.allDims.indexOf(color) : -1;
    const keep = {};
    const top = category ? topValues(v, rows, ci, v.limit, v.sort) : null;
    if (top) keep[ci] = top.keep;
    const colorTop = color ? topValues(v, rows, oi, v.colorLimit, null) : null;
    if (colorTop) keep[oi] = colorTop.keep;
    const dims = [ci].concat(oi >= 0 ? [oi] : []).filter(function (i) { return i >= 0; });
    let list = group(v, rows, dims, keep);
    if (top && !top.other) list = list.filter(function (g) { return g.dims[ci] !== OTHER; });
    if (colorTop && !colorTop.other) list = list.filter(function (g) { return g.dims[oi] !== OTHER; });
    const ranked = category ? sortGroups(v, group(v, rows, [ci], keep).filter(function (g) {
      return !(top && !top.other && g.dims[ci] === OTHER);
    }), v.sort, [ci]) : [];
    const categories = ranked.map(function (g) { return g.dims[ci]; });
    const measures = measuresOf(v, 'values');
    let series;
    if (color) {
      const colorValues = sortGroups(v, group(v, rows, [oi], keep), null, [oi]).map(function (g) { return g.dims[oi]; })
        .filter(function (c) { return !(colorTop && !colorTop.other && c === OTHER); });
      series = colorValues.map(function (c) { return { label: formatDim(color, c), key: c, measure: measures[0] }; });
    } else {
      series = measures.map(function (m) { return { label: m.label, key: null, measure: m }; });
    }
    const cell = {};
    list.forEach(function (g) {
      const c = g.dims[ci], s = color ? g.dims[oi] : null;
      measures.forEach(function (m) { cell[JSON.stringify([c, color ? s : m.id])] = g.m[m.id]; });
    });
    const matrix = series.map(function (s) {
      return categories.map(function (c) { const x = cell[JSON.stringify([c, color ? s.key : s.measure.id])]; return isNull(x) ? null : x; });
    });
    return { rows: rows, category: category, categories: categories, series: series, matrix: matrix, measures: measures };
  }
  function recordChart(v, data) {
    const totals = data.series.map(function (s, i) { return data.matrix[i].reduce(function (a, x) { return a + (x || 0); }, 0); });
    results[v.id] = {
      categories: data.categories.map(function (c) { return c === OTHER ? 'Other' : c; }),
      series: data.series.map(function (s) { return s.label; }),
      values: data.matrix, totals: totals,
    };
    return data.categories.length ? data.categories.length * data.series.length : 0;
  }

  function valueAxis(min, max, fmt) { return niceTicks(Math.min(0, min), max <= min ? min + 1 : max, 4).map(function (t) { return [t, formatNumber(t, fmt, true)]; }); }

  function renderBar(v, card, body) {
    const data = chartData(v);
    const points = recordChart(v, data);
    if (!points) return mark(card, 'empty', 0);
    const stacked = v.arrangement !== 'CLUSTERED' && data.series.length > 1;
    const percent = v.arrangement === 'STACKED_PERCENT';
    const colTotals = data.categories.map(function (_, c) { return data.matrix.reduce(function (a, s) { return a + Math.max(0, s[c] || 0); }, 0); });
    const values = [].concat.apply([], data.matrix).map(function (x) { return x || 0; });
    let max = stacked ? Math.max.apply(null, colTotals) : Math.max.apply(null, values);
    let min = stacked ? 0 : Math.min.apply(null, values.concat([0]));
    if (percent) { min = 0; max = 1; }
    const fmt = percent ? { kind: 'percent', decimals: 0 } : data.series[0].measure.fmt;
    const ticks = valueAxis(min, max, fmt);
    const lo = ticks[0][0], hi = ticks[ticks.length - 1][0];
    const horizontal = v.orientation !== 'VERTICAL';
    if (data.series.length > 1 && v.legend) legend(body, data.series.map(function (s, i) { return { label: s.label, color: PALETTE[i % PALETTE.length] }; }));
    const box = size(body);
    const W = box.w, H = box.h - (data.series.length > 1 && v.legend ? 24 : 0);
    const labels = data.categories.map(function (c) { return formatDim(data.category, c); });
    const chart = svg('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, class: 'chart' });
    const left = horizontal ? Math.min(170, 12 + 6.5 * Math.max.apply(null, labels.map(function (l) { return short(l, 26).length; }))) : 56;
    const bottom = horizontal ? 22 : 46, top = 8, right = horizontal ? 64 : 12;
    const pw = W - left - right, ph = H - top - bottom;
    const scale = function (x) { return (x - lo) / (hi - lo || 1); };
    ticks.forEach(function (t) {
      const p = scale(t[0]);
      if (horizontal) {
        chart.appendChild(svg('line', { x1: left + p * pw, x2: left + p * pw, y1: top, y2: top + ph, class: 'grid' }));
        chart.appendChild(svg('text', { x: left + p * pw, y: H - 6, class: 'tick', 'text-anchor': 'middle' }, t[1]));
      } else {
        chart.appendChild(svg('line', { x1: left, x2: left + pw, y1: top + ph - p * ph, y2: top + ph - p * ph, class: 'grid' }));
        chart.appendChild(svg('text', { x: left - 6, y: top + ph - p * ph + 4, class: 'tick', 'text-anchor': 'end' }, t[1]));
      }
    });
    const band = (horizontal ? ph : pw) / data.categories.length;
    const inner = band * 0.72, groupsPerBand = stacked ? 1 : data.series.length;
    data.categories.forEach(function (c, ci) {
      let offset = 0;
      data.series.forEach(function (s, si) {
        let x = data.matrix[si][ci];
        if (isNull(x)) return;
        if (percent) x = colTotals[ci] ? x / colTotals[ci] : 0;
        const start = stacked ? offset : 0;
        const a = scale(Math.min(start, start + x)), b = scale(Math.max(start, start + x));
        offset += stacked ? x : 0;
        const thickness = inner / groupsPerBand;
        const pos = ci * band + (band - inner) / 2 + (stacked ? 0 : si * thickness);
        const rect = horizontal
          ? svg('rect', { x: left + a * pw, y: top + pos, width: Math.max(1, (b - a) * pw), height: thickness - 1 })
          : svg('rect', { x: left + pos, y: top + ph - b * ph, width: thickness - 1, height: Math.max(1, (b - a) * ph) });
        rect.setAttribute('fill', PALETTE[si % PALETTE.length]);
        tip(rect, labels[ci] + (data.series.length > 1 ? ' · ' + s.label : '') + ': ' + formatNumber(data.matrix[si][ci], s.measure.fmt));
        chart.appendChild(rect);
      });
      const label = short(labels[ci], horizontal ? 26 : 12);
      if (horizontal) {
        chart.appendChild(tip(svg('text', { x: left - 6, y: top + ci * band + band / 2 + 4, class: 'tick', 'text-anchor': 'end' }, label), labels[ci]));
      } else {
        const tx = left + ci * band + band / 2;
        const t = svg('text', { x: tx, y: top + ph + 14, class: 'tick', 'text-anchor': data.categories.length > 6 ? 'end' : 'middle' }, label);
        if (data.categories.length > 6) t.setAttribute('transform', 'rotate(-30 ' + tx + ' ' + (top + ph + 14) + ')');
        chart.appendChild(tip(t, labels[ci]));
      }
      if (v.dataLabels) {
        const total = stacked ? data.matrix.reduce(function (a, s) { return a + (s[ci] || 0); }, 0) : data.matrix[0][ci];
        if (!percent && !isNull(total)) {
          const p = scale(total);
          chart.appendChild(horizontal
            ? svg('text', { x: left + p * pw + 4, y: top + ci * band + band / 2 + 4, class: 'data-label' }, formatNumber(total, data.series[0].measure.fmt, true))
            : svg('text', { x: left + ci * band + band / 2, y: top + ph - p * ph - 4, class: 'data-label', 'text-anchor': 'middle' }, formatNumber(total, data.series[0].measure.fmt, true)));
        }
      }
    });
    body.appendChild(chart);
    mark(card, 'rendered', points);
  }

  function zValue(interval) {
    const p = 1 - (1 - (interval || 90) / 100) / 2;  // two-sided normal quantile (Acklam's approximation, central part)
    const q = p - 0.5, r = q * q;
    return q * (((((-39.69683028665376 * r + 220.9460984245205) * r - 275.9285104469687) * r + 138.357751867269) * r - 30.66479806614716) * r + 2.506628274631) /
      (((((-54.47609879822406 * r + 161.5858368580409) * r - 155.6989798598866) * r + 66.80131188771972) * r - 13.28068155211621) * r + 1);
  }
  // QuickSight forecasts with a machine-learning model; the preview draws a least-squares trend (plus a
  // seasonal term when the definition sets Seasonality) with a normal prediction interval.
  function forecast(values, settings) {
    const n = values.length, ahead = settings.PeriodsForward || 7;
    if (n < 2) return null;
    const xs = values.map(function (_, i) { return i; });
    const mx = (n - 1) / 2, my = values.reduce(function (a, b) { return a + b; }, 0) / n;
    const sxx = xs.reduce(function (a, x) { return a + (x - mx) * (x - mx); }, 0);
    const slope = xs.reduce(function (a, x, i) { return a + (x - mx) * (values[i] - my); }, 0) / (sxx || 1);
    const season = settings.Seasonality && n >= 2 * settings.Seasonality ? settings.Seasonality : 0;
    const seasonal = new Array(season).fill(0);
    if (season) {
      const sums = new Array(season).fill(0), counts = new Array(season).fill(0);
      values.forEach(function (y, i) { sums[i % season] += y - (my + slope * (i - mx)); counts[i % season] += 1; });
      sums.forEach(function (s, k) { seasonal[k] = s / counts[k]; });
    }
    const fit = function (i) { return my + slope * (i - mx) + (season ? seasonal[i % season] : 0); };
    const residual = Math.sqrt(values.reduce(function (a, y, i) { return a + Math.pow(y - fit(i), 2); }, 0) / Math.max(1, n - 2));
    const z = zValue(settings.PredictionInterval);
    const out = [];
    for (let k = 1; k <= ahead; k++) {
      const i = n - 1 + k;
      const spread = z * residual * Math.sqrt(1 + 1 / n + Math.pow(i - mx, 2) / (sxx || 1));
      const clamp = function (y) {
        if (settings.LowerBoundary !== undefined && y < settings.LowerBoundary) y = settings.LowerBoundary;
        if (settings.UpperBoundary !== undefined && y > settings.UpperBoundary) y = settings.UpperBoundary;
        return y;
      };
      out.push([clamp(fit(i)), clamp(fit(i) - spread), clamp(fit(i) + spread)]);
    }
    return out;
  }

  function renderLine(v, card, body) {
    const data = chartData(v);
    const points = recordChart(v, data);
    if (!points) return mark(card, 'empty', 0);
    const dateCategory = data.category && data.category.kind === 'date';
    let categories = data.categories.slice();
    let predicted = null;
    if (v.forecast && dateCategory && data.series.length === 1 && categories.length >= 2) {
      predicted = forecast(data.matrix[0].map(function (x) { return x || 0; }), v.forecast);
      const last = categories[categories.length - 1];
      for (let k = 1; k <= predicted.length; k++) categories.push(addPeriod(last, data.category.gran || 'DAY', k));
      results[v.id].forecast = predicted.map(function (p) { return p[0]; });
    }
    const stacked = v.lineType === 'STACKED_AREA';
    const sums = data.categories.map(function (_, c) { return data.matrix.reduce(function (a, s) { return a + (s[c] || 0); }, 0); });
    let all = stacked ? sums : [].concat.apply([], data.matrix).map(function (x) { return x || 0; });
    if (predicted) all = all.concat(predicted.map(function (p) { return p[2]; }), predicted.map(function (p) { return p[1]; }));
    const fmt = data.series[0].measure.fmt;
    const ticks = valueAxis(Math.min.apply(null, all.concat([0])), Math.max.apply(null, all), fmt);
    const lo = ticks[0][0], hi = ticks[ticks.length - 1][0];
    const legendItems = data.series.map(function (s, i) { return { label: s.label, color: PALETTE[i % PALETTE.length] }; });
    if (predicted) legendItems.push({ label: 'Forecast (trend approximation)', color: '#9aa5b1' });
    if (legendItems.length > 1 && v.legend) legend(body, legendItems);
    const box = size(body);
    const W = box.w, H = box.h - (legendItems.length > 1 && v.legend ? 24 : 0);
    const left = 60, right = 14, top = 8, bottom = 30, pw = W - left - right, ph = H - top - bottom;
    const chart = svg('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, class: 'chart' });
    const X = function (i) { return left + (categories.length === 1 ? pw / 2 : i / (categories.length - 1) * pw); };
    const Y = function (y) { return top + ph - (y - lo) / (hi - lo || 1) * ph; };
    ticks.forEach(function (t) {
      chart.appendChild(svg('line', { x1: left, x2: left + pw, y1: Y(t[0]), y2: Y(t[0]), class: 'grid' }));
      chart.appendChild(svg('text', { x: left - 6, y: Y(t[0]) + 4, class: 'tick', 'text-anchor': 'end' }, t[1]));
    });
    const every = Math.max(1, Math.ceil(categories.length / Math.max(2, Math.floor(pw / 80))));
    categories.forEach(function (c, i) {
      if (i % every === 0 || i === categories.length - 1) chart.appendChild(svg('text', { x: X(i), y: H - 8, class: 'tick', 'text-anchor': 'middle' }, short(formatDim(data.category, c), 14)));
    });
    if (predicted) {
      const n = data.categories.length;
      const upper = predicted.map(function (p, k) { return X(n + k) + ',' + Y(p[2]); });
      const lower = predicted.map(function (p, k) { return X(n + k) + ',' + Y(p[1]); }).reverse();
      const start = X(n - 1) + ',' + Y(data.matrix[0][n - 1] || 0);
      chart.appendChild(svg('polygon', { points: [start].concat(upper, lower).join(' '), class: 'forecast-band' }));
      chart.appendChild(svg('polyline', { points: [start].concat(predicted.map(function (p, k) { return X(n + k) + ',' + Y(p[0]); })).join(' '), class: 'forecast-line' }));
    }
    let base = data.categories.map(function () { return 0; });
    data.series.forEach(function (s, si) {
      const ys = data.matrix[si].map(function (y, i) { return (y || 0) + (stacked ? base[i] : 0); });
      const line = ys.map(function (y, i) { return X(i) + ',' + Y(y); });
      const color = PALETTE[si % PALETTE.length];
      if (v.lineType === 'AREA' || stacked) {
        const floor = (stacked ? base : ys.map(function () { return Math.max(lo, 0); })).map(function (y, i) { return X(i) + ',' + Y(y); }).reverse();
        chart.appendChild(svg('polygon', { points: line.concat(floor).join(' '), fill: color, 'fill-opacity': stacked ? 0.55 : 0.18 }));
      }
      chart.appendChild(svg('polyline', { points: line.join(' '), fill: 'none', stroke: color, 'stroke-width': 2 }));
      ys.forEach(function (y, i) {
        chart.appendChild(tip(svg('circle', { cx: X(i), cy: Y(y), r: 3, fill: color }), formatDim(data.category, data.categories[i]) + ' · ' + s.label + ': ' + formatNumber(data.matrix[si][i], s.measure.fmt)));
      });
      if (stacked) base = ys;
    });
    body.appendChild(chart);
    mark(card, 'rendered', points);
  }

  function renderPie(v, card, body) {
    const data = chartData(v);
    const points = recordChart(v, data);
    const values = data.matrix[0] || [];
    const total = values.reduce(function (a, x) { return a + Math.max(0, x || 0); }, 0);
    if (!points || !total) return mark(card, 'empty', 0);
    const box = size(body);
    const W = box.w, H = box.h;
    const r = Math.min(H / 2 - 6, W * 0.3), cx = r + 10, cy = H / 2;
    const hole = { SMALL: 0.78, MEDIUM: 0.6, LARGE: 0.42, WHOLE: 0 }[v.arc || 'WHOLE'];
    const chart = svg('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, class: 'chart' });
    let angle = -Math.PI / 2;
    const fmt = data.series[0].measure.fmt;
    values.forEach(function (x, i) {
      const share = Math.max(0, x || 0) / total;
      if (!share) return;
      const a2 = angle + share * 2 * Math.PI;
      const large = share > 0.5 ? 1 : 0;
      const p = function (a, rr) { return (cx + rr * Math.cos(a)).toFixed(2) + ',' + (cy + rr * Math.sin(a)).toFixed(2); };
      const end = share >= 0.9999 ? a2 - 0.0001 : a2;
      const d = hole
        ? 'M' + p(angle, r) + 'A' + r + ',' + r + ' 0 ' + large + ' 1 ' + p(end, r) + 'L' + p(end, r * hole) + 'A' + r * hole + ',' + r * hole + ' 0 ' + large + ' 0 ' + p(angle, r * hole) + 'Z'
        : 'M' + cx + ',' + cy + 'L' + p(angle, r) + 'A' + r + ',' + r + ' 0 ' + large + ' 1 ' + p(end, r) + 'Z';
      const label = formatDim(data.category, data.categories[i]);
      chart.appendChild(tip(svg('path', { d: d, fill: PALETTE[i % PALETTE.length], stroke: '#fff', 'stroke-width': 1 }), label + ': ' + formatNumber(x, fmt) + ' (' + (share * 100).toFixed(1) + '%)'));
      angle = a2;
    });
    if (hole && v.centerLabel) {
      chart.appendChild(svg('text', { x: cx, y: cy + 5, class: 'donut-total', 'text-anchor': 'middle' }, formatNumber(total, fmt, true)));
    }
    const lx = cx + r + 18;
    values.forEach(function (x, i) {
      const y = 14 + i * 18;
      if (y > H - 4) return;
      chart.appendChild(svg('rect', { x: lx, y: y - 9, width: 10, height: 10, fill: PALETTE[i % PALETTE.length] }));
      const label = short(formatDim(data.category, data.categories[i]), 22) + '  ' + formatNumber(x, fmt, true) + ' · ' + (Math.max(0, x || 0) / total * 100).toFixed(1) + '%';
      chart.appendChild(svg('text', { x: lx + 15, y: y, class: 'tick' }, label));
    });
    body.appendChild(chart);
    mark(card, 'rendered', points);
  }

  function pager(host, count, pageSize, draw) {
    let page = 0;
    const pages = Math.max(1, Math.ceil(count / pageSize));
    const bar = el('div', { class: 'pager' });
    const prev = el('button', { type: 'button' }, '‹'), next = el('button', { type: 'button' }, '›');
    const label = el('span');
    const update = function () { label.textContent = 'page ' + (page + 1) + ' of ' + pages + ' · ' + count + ' rows'; draw(page); };
    prev.onclick = function () { if (page > 0) { page -= 1; update(); } };
    next.onclick = function () { if (page < pages - 1) { page += 1; update(); } };
    bar.appendChild(prev); bar.appendChild(label); bar.appendChild(next);
    host.appendChild(bar);
    update();
  }

  function renderTable(v, card, body) {
    const rows = passingRows(v);
    const raw = !!v.roles.raw;
    let columns, lines, totals = null;
    if (raw) {
      const cube = decoded[v.cube];
      columns = v.roles.raw.map(function (d) { return { id: d.id, label: d.label, dim: d }; });
      lines = [];
      rows.forEach(function (i) {
        const vals = v.roles.raw.map(function (d) { return ev(d.x, { cube: cube, row: i }); });
        const times = accumulator(v.atoms[v.atoms.length - 1], cube);
        times.add(i);
        for (let k = 0; k < (times.value() || 1); k++) lines.push(vals);
      });
      const order = (v.sort || []).map(function (s) { return [columns.findIndex(function (c) { return c.id === s.field; }), s.dir]; });
      lines.sort(function (a, b) {
        for (const [i, dir] of order) { const c = compare(a[i], b[i]); if (c) return dir === 'DESC' ? -c : c; }
        return 0;
      });
    } else {
      const dims = (v.roles.group || []).map(function (d) { return v.allDims.indexOf(d); });
      const list = sortGroups(v, group(v, rows, dims), v.sort, dims);
      const measures = measuresOf(v, 'values');
      columns = (v.roles.group || []).map(function (d) { return { id: d.id, label: d.label, dim: d }; })
        .concat(measures.map(function (m) { return { id: m.id, label: m.label, measure: m }; }));
      lines = list.map(function (g) { return columns.map(function (c) { return c.dim ? g.dims[v.allDims.indexOf(c.dim)] : g.m[c.id]; }); });
      if (v.totals) {
        const all = group(v, rows, [])[0];
        totals = columns.map(function (c, i) { return c.measure ? all.m[c.id] : (i === 0 ? v.totalsLabel : ''); });
      }
    }
    const order = (v.order && v.order.length) ? v.order : columns.map(function (c) { return c.id; });
    const visible = order.map(function (id) { return columns.findIndex(function (c) { return c.id === id; }); })
      .filter(function (i) { return i >= 0 && (v.hidden || []).indexOf(columns[i].id) < 0; });
    columns.forEach(function (c, i) { if (visible.indexOf(i) < 0 && order.indexOf(c.id) < 0 && (v.hidden || []).indexOf(c.id) < 0) visible.push(i); });
    results[v.id] = { columns: visible.map(function (i) { return columns[i].label; }), rows: lines.map(function (l) { return visible.map(function (i) { return l[i]; }); }), totals: totals && visible.map(function (i) { return totals[i]; }) };
    if (!lines.length) return mark(card, 'empty', 0);
    const wrap = el('div', { class: 'table-wrap' });
    const table = el('table');
    const head = el('tr');
    visible.forEach(function (i) { head.appendChild(el('th', { class: columns[i].measure ? 'num' : '' }, columns[i].label)); });
    table.appendChild(el('thead')).appendChild(head);
    const tbody = table.appendChild(el('tbody'));
    const cellText = function (c, value) {
      if (c.measure) return formatNumber(value, c.measure.fmt);
      if (c.dim.kind === 'date') return formatDate(value, c.dim.fmt && c.dim.fmt.pattern, c.dim.gran || 'MINUTE');
      if (c.dim.kind === 'number') return formatNumber(value, c.dim.fmt);
      return isNull(value) ? 'null' : String(value);
    };
    const totalRow = function () {
      const tr = el('tr', { class: 'total' });
      visible.forEach(function (i) { tr.appendChild(el('td', { class: columns[i].measure ? 'num' : '' }, columns[i].measure ? formatNumber(totals[i], columns[i].measure.fmt) : totals[i])); });
      return tr;
    };
    const pageSize = v.pageSize || 500;
    const draw = function (page) {
      tbody.textContent = '';
      if (totals && v.totalsPlacement === 'START') tbody.appendChild(totalRow());
      lines.slice(page * pageSize, (page + 1) * pageSize).forEach(function (line) {
        const tr = el('tr');
        visible.forEach(function (i) { tr.appendChild(el('td', { class: columns[i].measure || columns[i].dim.kind === 'number' ? 'num' : '' }, cellText(columns[i], line[i]))); });
        tbody.appendChild(tr);
      });
      if (totals && v.totalsPlacement !== 'START') tbody.appendChild(totalRow());
    };
    wrap.appendChild(table);
    body.appendChild(wrap);
    if (lines.length > pageSize) pager(body, lines.length, pageSize, draw); else draw(0);
    mark(card, 'rendered', lines.length);
  }

  function renderPivot(v, card, body) {
    const rows = passingRows(v);
    const rowDims = (v.roles.rows || []).map(function (d) { return v.allDims.indexOf(d); });
    const colDims = (v.roles.columns || []).map(function (d) { return v.allDims.indexOf(d); });
    const measures = measuresOf(v, 'values');
    const key = function (g, dims) { return JSON.stringify(dims.map(function (i) { return g.dims[i]; })); };
    const cells = {};
    group(v, rows, rowDims.concat(colDims)).forEach(function (g) { cells[key(g, rowDims) + '|' + key(g, colDims)] = g; });
    const rowSort = (v.sort || []).filter(function (s) { return rowDims.some(function (i) { return v.allDims[i].id === s.on; }); });
    const colSort = (v.sort || []).filter(function (s) { return colDims.some(function (i) { return v.allDims[i].id === s.on; }); });
    const rowGroups = sortGroups(v, group(v, rows, rowDims), rowSort.length ? rowSort : rowDims.map(function (i) { return { field: v.allDims[i].id, dir: 'ASC' }; }), rowDims);
    const colGroups = colDims.length ? sortGroups(v, group(v, rows, colDims), colSort.length ? colSort : colDims.map(function (i) { return { field: v.allDims[i].id, dir: 'ASC' }; }), colDims) : [{ dims: [] }];
    const grand = group(v, rows, [])[0];
    results[v.id] = { rows: rowGroups.length, columns: colGroups.length, total: measures.length ? grand.m[measures[0].id] : null, cells: {} };
    if (!rowGroups.length) return mark(card, 'empty', 0);
    const wrap = el('div', { class: 'table-wrap' });
    const table = el('table', { class: 'pivot' });
    const thead = table.appendChild(el('thead'));
    const header = thead.appendChild(el('tr'));
    rowDims.forEach(function (i) { header.appendChild(el('th', {}, v.allDims[i].label)); });
    const colLabel = function (g) { return colDims.map(function (i) { return formatDim(v.allDims[i], g.dims[i]); }).join(' · '); };
    colGroups.forEach(function (cg) { measures.forEach(function (m) { header.appendChild(el('th', { class: 'num' }, (colDims.length ? colLabel(cg) + (measures.length > 1 ? ' · ' : '') : '') + (measures.length > 1 || !colDims.length ? m.label : ''))); }); });
    if (v.rowTotals && colDims.length) measures.forEach(function (m) { header.appendChild(el('th', { class: 'num' }, v.rowTotalsLabel + (measures.length > 1 ? ' · ' + m.label : ''))); });
    const tbody = table.appendChild(el('tbody'));
    rowGroups.forEach(function (rg) {
      const tr = tbody.appendChild(el('tr'));
      rowDims.forEach(function (i) { tr.appendChild(el('td', {}, formatDim(v.allDims[i], rg.dims[i]))); });
      colGroups.forEach(function (cg) {
        const g = cells[key(rg, rowDims) + '|' + key(cg, colDims)];
        measures.forEach(function (m) {
          const value = g ? g.m[m.id] : null;
          results[v.id].cells[key(rg, rowDims) + '|' + key(cg, colDims) + '|' + m.id] = value;
          tr.appendChild(el('td', { class: 'num' }, isNull(value) ? '' : formatNumber(value, m.fmt)));
        });
      });
      if (v.rowTotals && colDims.length) measures.forEach(function (m) { tr.appendChild(el('td', { class: 'num total' }, formatNumber(rg.m[m.id], m.fmt))); });
    });
    if (v.columnTotals) {
      const tr = tbody.appendChild(el('tr', { class: 'total' }));
      rowDims.forEach(function (_, k) { tr.appendChild(el('td', {}, k === 0 ? v.columnTotalsLabel : '')); });
      colGroups.forEach(function (cg) { measures.forEach(function (m) { tr.appendChild(el('td', { class: 'num' }, formatNumber(colDims.length ? cg.m[m.id] : grand.m[m.id], m.fmt))); }); });
      if (v.rowTotals && colDims.length) measures.forEach(function (m) { tr.appendChild(el('td', { class: 'num' }, formatNumber(grand.m[m.id], m.fmt))); });
    }
    wrap.appendChild(table);
    body.appendChild(wrap);
    mark(card, 'rendered', rowGroups.length * colGroups.length);
  }

  const RENDERERS = {
    KPIVisual: renderKPI, BarChartVisual: renderBar, LineChartVisual: renderLine, PieChartVisual: renderPie,
    TableVisual: renderTable, PivotTableVisual: renderPivot,
  };

  // ---- page ------------------------------------------------------------------------------------

  Object.keys(R.visuals).forEach(function (id) {
    const v = R.visuals[id];
    if (v.type === 'placeholder') return;
    const roles = ['category', 'colors', 'group', 'rows', 'columns', 'trend', 'raw'];
    v.allDims = [].concat.apply([], roles.map(function (r) { return v.roles[r] || []; }));
    v.measures = [].concat(v.roles.values || [], v.roles.targets || []);
  });
  Object.keys(R.parameters).forEach(function (name) { state.params[name] = R.parameters[name].default; });
  Object.keys(R.filters).forEach(function (id) {
    const c = R.filters[id];
    state.filters[id] = { values: c.values === undefined ? null : c.values, min: c.min === undefined ? null : c.min, max: c.max === undefined ? null : c.max, value: c.value, type: c.type, n: c.n, gran: c.gran, nulls: c.nulls };
  });

  function renderVisual(id, card) {
    const v = R.visuals[id];
    card.textContent = '';
    card.appendChild(el('div', { class: 'visual-title' }, v.title || ''));
    if (v.subtitle) card.appendChild(el('div', { class: 'visual-subtitle' }, v.subtitle));
    const body = card.appendChild(el('div', { class: 'visual-body' }));
    if (v.type === 'placeholder') {
      body.appendChild(el('div', { class: 'placeholder' }, v.visualType + ' — not rendered by the local preview: ' + v.reason));
      return mark(card, 'placeholder', 0);
    }
    try {
      RENDERERS[v.type](v, card, body);
    } catch (error) {
      console.error('visual ' + id + ': ' + (error && error.stack || error));
      body.appendChild(el('div', { class: 'placeholder error' }, 'Could not draw this visual: ' + error));
      mark(card, 'error', 0);
    }
    if (card.dataset.state === 'empty') body.appendChild(el('div', { class: 'empty' }, 'No data for the current filters'));
  }

  function describeFilter(id) {
    const c = R.filters[id], s = state.filters[id];
    if (c.kind === 'relativeDates') {
      const bounds = relativeBounds(c, s);
      return formatDate(bounds[0], 'MMM D, YYYY') + ' – ' + formatDate(bounds[2] ? addPeriod(bounds[1], 'SECOND', -1) : bounds[1], 'MMM D, YYYY');
    }
    return '';
  }

  function controlNode(control) {
    const box = el('div', { class: 'control', 'data-control': control.id });
    box.appendChild(el('label', {}, control.title || control.id));
    if (control.disabled) { box.appendChild(el('span', { class: 'muted' }, control.disabled)); return box; }
    const changed = function () { refresh(); };
    if (control.filter) {
      const c = R.filters[control.filter], s = state.filters[control.filter];
      if (control.kind === 'Dropdown' || control.kind === 'List') {
        if (c.param) { box.appendChild(el('span', { class: 'muted' }, 'set by parameter ' + c.param)); return box; }
        if (control.multi) {
          const details = el('details', { class: 'multi' });
          const summary = details.appendChild(el('summary'));
          const list = details.appendChild(el('div', { class: 'options' }));
          const values = control.values || [];
          const sync = function () {
            summary.textContent = s.values === null ? 'All' : (s.values.length === 1 ? String(s.values[0]) : s.values.length + ' selected');
          };
          const all = el('label', { class: 'option' });
          const allBox = all.appendChild(el('input', { type: 'checkbox' }));
          all.appendChild(document.createTextNode('Select all'));
          list.appendChild(all);
          const boxes = values.map(function (value) {
            const option = el('label', { class: 'option' });
            const input = option.appendChild(el('input', { type: 'checkbox', value: String(value) }));
            option.appendChild(document.createTextNode(String(value)));
            list.appendChild(option);
            input.addEventListener('change', function () {
              const chosen = boxes.filter(function (b) { return b.checked; }).map(function (b) { return values[boxes.indexOf(b)]; });
              s.values = chosen.length === values.length ? null : chosen;
              allBox.checked = s.values === null;
              sync(); changed();
            });
            return input;
          });
          const check = function () {
            boxes.forEach(function (b, i) { b.checked = s.values === null || s.values.indexOf(values[i]) >= 0; });
            allBox.checked = s.values === null;
          };
          allBox.addEventListener('change', function () { s.values = allBox.checked ? null : []; check(); sync(); changed(); });
          check(); sync();
          box.appendChild(details);
        } else {
          const select = box.appendChild(el('select'));
          select.appendChild(el('option', { value: '' }, 'All'));
          (control.values || []).forEach(function (value, i) { select.appendChild(el('option', { value: String(i) }, String(value))); });
          if (s.values && s.values.length === 1) select.value = String((control.values || []).indexOf(s.values[0]));
          select.addEventListener('change', function () { s.values = select.value === '' ? null : [control.values[+select.value]]; changed(); });
        }
      } else if (control.kind === 'RelativeDateTime') {
        const type = box.appendChild(el('select', { 'aria-label': 'period type' }));
        ['LAST', 'PREVIOUS', 'THIS', 'NEXT'].forEach(function (t) { type.appendChild(el('option', { value: t }, t.charAt(0) + t.slice(1).toLowerCase())); });
        const n = box.appendChild(el('input', { type: 'number', min: '1', value: String(s.n || 1), class: 'n', 'aria-label': 'number of periods' }));
        const unit = box.appendChild(el('select', { 'aria-label': 'period' }));
        ['YEAR', 'QUARTER', 'MONTH', 'WEEK', 'DAY', 'HOUR'].forEach(function (g) { unit.appendChild(el('option', { value: g }, g.toLowerCase() + 's')); });
        type.value = s.type || 'LAST'; unit.value = s.gran || 'DAY';
        const range = box.appendChild(el('span', { class: 'muted range' }, describeFilter(control.filter)));
        const update = function () { s.type = type.value; s.n = Number(n.value) || 1; s.gran = unit.value; range.textContent = describeFilter(control.filter); changed(); };
        type.addEventListener('change', update); n.addEventListener('change', update); unit.addEventListener('change', update);
      } else if (control.kind === 'DateTimePicker') {
        const from = box.appendChild(el('input', { type: 'date', 'aria-label': 'from' }));
        const to = control.range ? box.appendChild(el('input', { type: 'date', 'aria-label': 'to' })) : null;
        if (s.min) from.value = String(s.min).slice(0, 10);
        if (to && s.max) to.value = String(s.max).slice(0, 10);
        if (c.kind === 'timeEquality' && s.value) from.value = String(s.value).slice(0, 10);
        const update = function () {
          const a = from.value ? from.value + 'T00:00:00' : null;
          if (c.kind === 'timeEquality') s.value = a;
          else { s.min = a; s.max = to && to.value ? to.value + 'T23:59:59' : (to ? null : s.max); }
          changed();
        };
        from.addEventListener('change', update); if (to) to.addEventListener('change', update);
      } else if (control.kind === 'Slider' || control.kind === 'TextField' || control.kind === 'TextArea') {
        const input = box.appendChild(el('input', { type: control.kind === 'Slider' ? 'number' : 'text' }));
        input.addEventListener('change', function () {
          const raw = input.value.trim();
          if (c.kind === 'category') s.values = raw ? raw.split(control.kind === 'TextArea' ? /\n|,/ : /\u0000/).map(function (x) { return x.trim(); }) : null;
          else if (c.kind === 'numericEquality') s.value = raw === '' ? null : Number(raw);
          else s.max = raw === '' ? null : Number(raw);
          changed();
        });
      }
      return box;
    }
    const p = R.parameters[control.param];
    if ((control.kind === 'Dropdown' || control.kind === 'List') && control.values) {
      const select = box.appendChild(el('select', control.multi ? { multiple: 'multiple' } : {}));
      control.values.forEach(function (value, i) { select.appendChild(el('option', { value: String(i) }, String(value))); });
      const current = [].concat(state.params[control.param] === null || state.params[control.param] === undefined ? [] : state.params[control.param]);
      Array.prototype.forEach.call(select.options, function (o, i) { o.selected = current.indexOf(control.values[i]) >= 0; });
      select.addEventListener('change', function () {
        const chosen = Array.prototype.filter.call(select.options, function (o) { return o.selected; }).map(function (o) { return control.values[+o.value]; });
        state.params[control.param] = p.multi ? chosen : (chosen[0] === undefined ? null : chosen[0]);
        changed();
      });
    } else {
      const type = p.type === 'datetime' ? 'date' : (p.type === 'string' ? 'text' : 'number');
      const input = box.appendChild(el('input', { type: type }));
      const current = state.params[control.param];
      if (!isNull(current)) input.value = p.type === 'datetime' ? String(current).slice(0, 10) : String(current);
      input.addEventListener('change', function () {
        const raw = input.value;
        state.params[control.param] = raw === '' ? null : p.type === 'datetime' ? raw + 'T00:00:00' : p.type === 'string' ? raw : Number(raw);
        changed();
      });
    }
    return box;
  }

  const ROW_PX = 30;
  function sheetNode(sheet) {
    const section = el('section', { class: 'sheet', id: 'sheet-' + sheet.id, 'data-sheet': sheet.id });
    if (sheet.title) section.appendChild(el('h2', {}, sheet.title));
    if (sheet.description) section.appendChild(el('p', { class: 'muted' }, sheet.description));
    if (sheet.controls.length) {
      const bar = section.appendChild(el('div', { class: 'controls' }));
      sheet.controls.forEach(function (c) { bar.appendChild(controlNode(c)); });
    }
    const grid = section.appendChild(el('div', { class: 'grid' }));
    const placed = new Set();
    const cardFor = function (id) {
      if (R.visuals[id] && sheet.visuals.indexOf(id) >= 0) return el('div', { class: 'card visual', 'data-visual': id, 'data-type': R.visuals[id].visualType || R.visuals[id].type });
      if (id in sheet.texts) return el('div', { class: 'card text' }, sheet.texts[id]);
      return null;
    };
    (sheet.layout || []).forEach(function (item) {
      const card = cardFor(item.id);
      if (!card) return;
      placed.add(item.id);
      if (item.colSpan !== undefined) {
        card.style.gridColumn = (item.col + 1) + ' / span ' + item.colSpan;
        card.style.gridRow = (item.row === null || item.row === undefined ? 'auto' : item.row + 1) + ' / span ' + item.rowSpan;
      } else {
        card.style.gridColumn = (Math.round(item.x / 1600 * 36) + 1) + ' / span ' + Math.max(4, Math.round(item.w / 1600 * 36));
        card.style.gridRow = (Math.round(item.y / ROW_PX) + 1) + ' / span ' + Math.max(3, Math.round(item.h / ROW_PX));
      }
      grid.appendChild(card);
    });
    sheet.visuals.concat(Object.keys(sheet.texts)).forEach(function (id) {  // never drop an element the layout misses
      if (placed.has(id)) return;
      const card = cardFor(id);
      const isText = !(id in R.visuals);
      card.style.gridColumn = '1 / span 36';
      card.style.gridRow = 'auto / span ' + (isText ? 2 : (R.visuals[id].type === 'KPIVisual' ? 6 : 11));
      grid.appendChild(card);
    });
    return section;
  }

  function renderSheet(id) {
    const section = document.getElementById('sheet-' + id);
    section.querySelectorAll('.card.visual').forEach(function (card) { renderVisual(card.dataset.visual, card); });
    state.rendered.add(id);
  }
  function refresh() {
    state.rendered.clear();
    renderSheet(state.sheet);
  }
  function show(id) {
    state.sheet = id;
    document.querySelectorAll('.sheet').forEach(function (s) { s.hidden = s.dataset.sheet !== id; });
    document.querySelectorAll('.tab').forEach(function (t) { t.setAttribute('aria-selected', String(t.dataset.sheet === id)); });
    if (!state.rendered.has(id)) renderSheet(id);
    if (location.hash !== '#' + id) history.replaceState(null, '', '#' + id);
  }

  function start() {
    const began = performance.now();
    document.title = R.title + ' — local preview';
    document.getElementById('title').textContent = R.title;
    document.getElementById('meta').textContent = 'Local preview of dashboard ' + R.dashboardId + ' · relative dates anchored at ' +
      formatDate(R.asOf, 'MMM D, YYYY HH:mm') + ' UTC · generated ' + formatDate(R.generatedAt, 'MMM D, YYYY HH:mm') + ' UTC';
    if (R.warnings.length) {
      const details = document.getElementById('warnings');
      details.hidden = false;
      details.querySelector('summary').textContent = R.warnings.length + ' part(s) of the definition are not shown as in QuickSight';
      R.warnings.forEach(function (w) { details.querySelector('ul').appendChild(el('li', {}, w)); });
    }
    const tabs = document.getElementById('tabs'), main = document.getElementById('sheets');
    R.sheets.forEach(function (sheet) {
      const tab = el('button', { class: 'tab', type: 'button', role: 'tab', 'data-sheet': sheet.id }, sheet.name);
      tab.addEventListener('click', function () { show(sheet.id); });
      tabs.appendChild(tab);
      main.appendChild(sheetNode(sheet));
    });
    const wanted = location.hash.slice(1);
    show(R.sheets.some(function (s) { return s.id === wanted; }) ? wanted : R.sheets[0].id);
    window.__bcrReport.renderMs = performance.now() - began;
    window.__bcrReport.ready = true;
    document.body.dataset.ready = 'true';
  }
  let resizeTimer = null;
  window.addEventListener('resize', function () { clearTimeout(resizeTimer); resizeTimer = setTimeout(refresh, 150); });
  start();
})();
