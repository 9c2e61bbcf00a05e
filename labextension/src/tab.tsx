/**
 * One job in a tab of the main area (beside the notebook, dockable): the same detail view
 * as the side panel's, following the panel's model.
 */
import { MainAreaWidget } from '@jupyterlab/apputils';
import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import * as React from 'react';

import { findJob } from './api';
import { JobDetail } from './components/JobDetail';
import { JobsModel } from './model';
import { kfIcon } from './icon';
import { KFPanel } from './panel';

/** The main-area id of the tab showing the job whose jobId (kind/name) is `job`. */
export function tabId(job: string): string {
  return `jupyter-kf-job-${job.replace('/', '-')}`;
}

/** A tab following the job whose jobId is `job` (another kind's job of its name is not it). */
export function jobTab(model: JobsModel, panel: KFPanel, job: string): MainAreaWidget {
  const [kind, name] = job.split('/');
  const body = ReactWidget.create(
    <UseSignal signal={model.changed}>
      {() => {
        const summary = findJob(model.jobs, job);
        if (!summary) {
          return <div className="jp-kf-empty">Job {name} ({kind}) is gone (deleted, or not in this namespace).</div>;
        }
        return (
          <JobDetail
            api={model.api}
            summary={summary}
            tailLines={panel.settings.logTailLines}
            onClose={() => widget.dispose()}
            onChanged={job => model.upsert(job)}
            onDeleted={gone => model.remove(gone)}
            confirmDelete={n => panel.confirmDelete(n)}
            onClone={job => panel.cloneJob(job)}
          />
        );
      }}
    </UseSignal>
  );
  body.addClass('jp-kf-main-tab');
  const widget = new MainAreaWidget({ content: body });
  widget.id = tabId(job);
  widget.title.label = name;
  widget.title.icon = kfIcon;
  widget.title.caption = `Training job ${name} (${kind})`;
  widget.title.closable = true;
  return widget;
}
