// The SOP screens: the open visit's steps (inside the visit card) and the form of a form
// step, its fields rendered by kind (text, decimal and whole numbers with their keyboards,
// single choice as radio buttons, yes/no as a switch; other kinds are not entered in the
// demo). They render SopState and call VisitSopViewModel's actions.
package com.fieldkit.demo

import androidx.activity.compose.BackHandler
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.foundation.selection.selectable
import androidx.compose.foundation.selection.selectableGroup
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.material3.Button
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.RadioButton
import androidx.compose.material3.Switch
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.semantics.Role
import androidx.compose.ui.text.input.ImeAction
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.unit.dp
import com.fieldkit.demo.logic.FieldInput
import com.fieldkit.demo.logic.FieldRow
import com.fieldkit.demo.logic.FormDraft
import com.fieldkit.demo.logic.SopState
import com.fieldkit.demo.logic.StepKind
import com.fieldkit.demo.logic.StepRow
import com.fieldkit.demo.logic.VisitSopViewModel

/**
 * The visit's SOP steps in order: done, next or to do, with what can be done about each
 * (fill in a form, mark done) and the engine's reason when it refused. A photo taken with
 * the visit's "Take photo" marks a next photo step done by itself.
 */
@Composable
fun SopSteps(sop: SopState, actions: VisitSopViewModel) {
    Column(verticalArrangement = Arrangement.spacedBy(4.dp)) {
        Text("Visit steps", style = MaterialTheme.typography.titleSmall)
        sop.steps.forEach { step -> StepLine(step, actions) }
    }
}

/** One step: its mark, title and buttons, and the refusal under it. */
@Composable
private fun StepLine(step: StepRow, actions: VisitSopViewModel) {
    val mark = when {
        step.done -> "✓"
        step.next -> "→"
        else -> "○"
    }
    Column {
        Row(Modifier.fillMaxWidth(), verticalAlignment = Alignment.CenterVertically) {
            Text(
                "$mark ${step.index + 1}. ${step.title}" + if (step.required) "" else " (optional)",
                Modifier.weight(1f),
                style = if (step.next) MaterialTheme.typography.bodyLarge else MaterialTheme.typography.bodyMedium,
            )
            if (!step.done) StepButton(step, actions)
        }
        step.problem?.let {
            Text(it, color = MaterialTheme.colorScheme.error, style = MaterialTheme.typography.bodySmall)
        }
    }
}

/**
 * What the rep can do about a step not done yet: fill in a form not submitted yet, else mark
 * it done (the engine checks that the visit has the photo, the order, the stock count or the
 * submitted form the step asks for; orders and stock counts are taken outside the demo).
 */
@Composable
private fun StepButton(step: StepRow, actions: VisitSopViewModel) {
    if (step.kind == StepKind.FORM && !step.formSubmitted) {
        Button(onClick = { actions.openForm(step.index) }) { Text("Fill in") }
    } else {
        OutlinedButton(onClick = { actions.completeStep(step.index) }) { Text("Mark done") }
    }
}

/**
 * A form step's form, full screen: one editor per shown field, the form's problem, and
 * "Submit" (disabled while submitting). Back or "Close" leaves without submitting.
 */
@Composable
fun SopFormScreen(form: FormDraft, actions: VisitSopViewModel) {
    BackHandler(onBack = actions::closeForm)
    Column(Modifier.fillMaxSize()) {
        Row(Modifier.fillMaxWidth().padding(16.dp), verticalAlignment = Alignment.CenterVertically) {
            Text(form.title, Modifier.weight(1f), style = MaterialTheme.typography.titleLarge)
            TextButton(onClick = actions::closeForm) { Text("Close") }
        }
        HorizontalDivider()
        LazyColumn(
            Modifier.weight(1f).fillMaxWidth(),
            verticalArrangement = Arrangement.spacedBy(12.dp),
        ) {
            items(form.fields.filter { it.shown }, key = { it.key }) { field ->
                Column(Modifier.padding(horizontal = 16.dp)) {
                    FieldEditor(field, enabled = !form.submitting, onEdit = { actions.editField(field.key, it) })
                }
            }
        }
        Column(Modifier.fillMaxWidth().padding(16.dp), verticalArrangement = Arrangement.spacedBy(8.dp)) {
            form.problem?.let { Text(it, color = MaterialTheme.colorScheme.error) }
            Button(onClick = { actions.submitForm() }, enabled = !form.submitting, modifier = Modifier.fillMaxWidth()) {
                Text(if (form.submitting) "Submitting…" else "Submit")
            }
        }
    }
}

/** The editor for one field, by its input, with its error under it. */
@Composable
fun FieldEditor(field: FieldRow, enabled: Boolean, onEdit: (String) -> Unit) {
    val label = field.label + if (field.required) " *" else ""
    when (field.input) {
        FieldInput.TEXT -> TextFieldEditor(field, label, KeyboardType.Text, enabled, onEdit)
        FieldInput.DECIMAL -> TextFieldEditor(field, label, KeyboardType.Decimal, enabled, onEdit)
        FieldInput.WHOLE -> TextFieldEditor(field, label, KeyboardType.Number, enabled, onEdit)
        FieldInput.CHOICE -> {
            Text(label, style = MaterialTheme.typography.bodyLarge)
            Column(Modifier.selectableGroup()) {
                field.choices.forEach { choice ->
                    Row(
                        Modifier
                            .fillMaxWidth()
                            .selectable(
                                selected = field.text == choice,
                                enabled = enabled,
                                role = Role.RadioButton,
                                onClick = { onEdit(choice) },
                            )
                            .padding(vertical = 4.dp),
                        verticalAlignment = Alignment.CenterVertically,
                    ) {
                        // The row handles the click, so that the label is a target too.
                        RadioButton(selected = field.text == choice, onClick = null, enabled = enabled)
                        Text(choice, Modifier.padding(start = 8.dp))
                    }
                }
            }
            FieldError(field.error)
        }
        FieldInput.YES_NO -> {
            Row(Modifier.fillMaxWidth(), verticalAlignment = Alignment.CenterVertically) {
                Text(label, Modifier.weight(1f), style = MaterialTheme.typography.bodyLarge)
                Switch(
                    checked = field.text == "true",
                    onCheckedChange = { onEdit(if (it) "true" else "false") },
                    enabled = enabled,
                )
            }
            FieldError(field.error)
        }
        FieldInput.HEADING -> Text(field.label, style = MaterialTheme.typography.titleMedium)
        FieldInput.UNSUPPORTED -> {
            Text(label, style = MaterialTheme.typography.bodyLarge)
            Text(
                "Not supported in the demo.",
                style = MaterialTheme.typography.bodySmall,
                color = MaterialTheme.colorScheme.onSurfaceVariant,
            )
            FieldError(field.error)
        }
    }
}

/** A text field with the keyboard for its kind; the error shows as its supporting text. */
@Composable
private fun TextFieldEditor(field: FieldRow, label: String, keyboard: KeyboardType, enabled: Boolean, onEdit: (String) -> Unit) {
    OutlinedTextField(
        value = field.text,
        onValueChange = onEdit,
        modifier = Modifier.fillMaxWidth(),
        enabled = enabled,
        label = { Text(label) },
        singleLine = keyboard != KeyboardType.Text,
        isError = field.error != null,
        supportingText = field.error?.let { error -> @Composable { Text(error) } },
        keyboardOptions = KeyboardOptions(keyboardType = keyboard, imeAction = ImeAction.Next),
    )
}

/** A field's error in the error colour, or nothing. */
@Composable
private fun FieldError(error: String?) {
    error?.let { Text(it, color = MaterialTheme.colorScheme.error, style = MaterialTheme.typography.bodySmall) }
}
