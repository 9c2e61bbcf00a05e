/**
 * One job in a tab of the main area (beside the notebook, dockable): the same detail view
 * as the side panel's, following the panel's model.
 */
import { MainAreaWidget } from '@jupyterlab/apputils';
import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import * as React from 'react';

import { JobDetail } from './components/JobDetail';
import { JobsModel } from './model';
import { kfIcon } from './icon';
import { KFPanel } from './panel';

export function jobTab(model: JobsModel, panel: KFPanel, name: string): MainAreaWidget {
  const body = ReactWidget.create(
    <UseSignal signal={model.changed}>
      {() => {
        const summary = model.jobs.find(j => j.name === name);
        if (!summary) {
          return <div className="jp-kf-empty">Job {name} is gone (deleted, or not in this namespace).</div>;
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
  widget.id = `jupyter-kf-job-${name}`;
  widget.title.label = name;
  widget.title.icon = kfIcon;
  widget.title.caption = `Training job ${name}`;
  widget.title.closable = true;
  return widget;
}
